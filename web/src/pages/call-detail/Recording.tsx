import { SafeLink } from '../../components/SafeLink.js';

/**
 * An `<audio>` player for an https recording (Convolo hosts them; the page's CSP allows media from https
 * hosts only). An http link cannot play on a page served over https (mixed content) nor under that policy,
 * so it is a link; anything else is text.
 */
export function Recording({ link }: { link: string | null }) {
  if (!link) return <p class="muted">No recording.</p>;
  let protocol = '';
  try {
    protocol = new URL(link).protocol;
  } catch {
    // not a URL: shown as text below
  }
  if (protocol === 'https:') {
    return (
      <div class="recording">
        <audio controls preload="none" src={link} data-recording>
          <SafeLink href={link}>Open the recording</SafeLink>
        </audio>
        <p class="small">
          <SafeLink href={link}>Open the recording</SafeLink>
        </p>
      </div>
    );
  }
  return (
    <p class="text">
      <SafeLink href={link}>{link}</SafeLink>
    </p>
  );
}
