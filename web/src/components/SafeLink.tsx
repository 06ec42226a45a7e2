import type { ComponentChildren } from 'preact';
import { httpUrl } from '../lib/format.js';

/** A link only for an http(s) URL that came from outside; anything else is shown as text. */
export function SafeLink({ href, children }: { href: unknown; children?: ComponentChildren }) {
  const url = httpUrl(href);
  if (!url) return <span class="text">{children ?? String(href ?? '–')}</span>;
  return (
    <a href={url} target="_blank" rel="noopener noreferrer">
      {children ?? url}
    </a>
  );
}
