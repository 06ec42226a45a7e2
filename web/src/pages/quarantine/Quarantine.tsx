import { ComingSoon } from '../coming-soon/ComingSoon.js';

/** Placeholder until this page lands (issue 13). */
export function Quarantine() {
  return <ComingSoon title="Quarantine" />;
}
