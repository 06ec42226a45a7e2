import { useMemo } from 'preact/hooks';
import { chooseZone, useZone, zoneChoices } from '../lib/zone.js';

export function ZonePicker() {
  const zone = useZone();
  const zones = useMemo(zoneChoices, []);
  return (
    <label class="zone">
      <span class="visually-hidden">Time zone</span>
      <select value={zone} onChange={(e) => chooseZone((e.target as HTMLSelectElement).value)}>
        {(zones.includes(zone) ? zones : [zone, ...zones]).map((z) => (
          <option key={z} value={z}>
            {z}
          </option>
        ))}
      </select>
    </label>
  );
}
