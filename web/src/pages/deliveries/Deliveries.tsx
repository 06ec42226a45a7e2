import { ComingSoon } from '../coming-soon/ComingSoon.js';

/** Placeholder until this page lands (issue 13). */
export function Deliveries() {
  return <ComingSoon title="Deliveries" />;
}
