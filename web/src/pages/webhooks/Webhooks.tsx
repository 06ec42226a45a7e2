import { ComingSoon } from '../coming-soon/ComingSoon.js';

/** Placeholder until this page lands (issue 13). */
export function Webhooks() {
  return <ComingSoon title="Webhooks" />;
}
