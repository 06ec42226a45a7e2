import { ComingSoon } from '../coming-soon/ComingSoon.js';

/** Placeholder until this page lands (issue 13). */
export function Settings({ tab: _tab }: { tab: string }) {
  return <ComingSoon title="Settings" />;
}
