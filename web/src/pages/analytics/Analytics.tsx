import { ComingSoon } from '../coming-soon/ComingSoon.js';

/** Placeholder until this page lands (issue 13). */
export function Analytics() {
  return <ComingSoon title="Analytics" />;
}
