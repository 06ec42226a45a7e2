import { Shell } from '../../components/Shell.js';
import { useZone } from '../../lib/zone.js';
import { Feed } from './Feed.js';
import { Figures } from './Figures.js';
import { InProgress } from './InProgress.js';
import { useInProgress } from './useInProgress.js';
import { useToday } from './useToday.js';

/** The live board (home): today's figures, calls in progress, latest events, all from one stream. */
export function Board() {
  const zone = useZone();
  const today = useToday(zone);
  const progress = useInProgress();
  return (
    <Shell title="Live">
      <Figures data={today.data} error={today.error} inProgress={progress.calls} />
      <div class="board-grid">
        <InProgress calls={progress.calls} error={progress.error} />
        <Feed />
      </div>
    </Shell>
  );
}
