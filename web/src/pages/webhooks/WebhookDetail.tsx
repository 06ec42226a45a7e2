import { ComingSoon } from '../coming-soon/ComingSoon.js';

/** Placeholder until this page lands (issue 13). */
export function WebhookDetail({ destinationId: _id }: { destinationId: string }) {
  return <ComingSoon title="Webhooks" />;
}
