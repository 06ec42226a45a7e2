/** The quarantine changed in this tab (a reprocess): the navigation's attention count reads it again. */
const quarantineChanged = 'switchboard:quarantine-changed';

export function announceQuarantineChange(): void {
  window.dispatchEvent(new Event(quarantineChanged));
}

export function onQuarantineChange(listener: () => void): () => void {
  window.addEventListener(quarantineChanged, listener);
  return () => window.removeEventListener(quarantineChanged, listener);
}
