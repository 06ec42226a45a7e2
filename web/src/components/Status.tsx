/** A call's or delivery's status: always a text label with its colour (never colour alone). */
const kinds: Record<string, string> = {
  answered: 'ok',
  delivered: 'ok',
  in_progress: 'progress',
  pending: 'pending',
  stale: 'muted',
  cancelled: 'muted',
  active: 'ok',
  revoked: 'muted',
};

export function statusKind(status: string): string {
  return kinds[status] ?? 'bad';
}

export function Status({ status }: { status: string }) {
  return <span class={`status status-${statusKind(status)}`}>{status.replace(/_/g, ' ')}</span>;
}
