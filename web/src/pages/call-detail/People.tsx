import type { Call } from '../../../../src/sdk/client.js';
import { formatPhone } from '../../lib/format.js';
import { leadName, leadPhone } from '../../lib/lead.js';
import { KeyValues } from './KeyValues.js';
import { Recording } from './Recording.js';

/** The lead (custom params as their own table), the agent, and the recording. */
export function People({ call }: { call: Call }) {
  const { custom_params: customParams, ...lead } = (call.lead ?? {}) as Record<string, unknown> & { custom_params?: unknown };
  return (
    <div class="two-cols">
      <section class="panel" aria-labelledby="lead-heading">
        <h2 id="lead-heading" class="section-title">
          Lead
        </h2>
        <p class="phone">
          {/* The name is Convolo's text: isolated (an RTL override in it stays in it) and wrapped anywhere. */}
          <span class="text">{leadName(call) ?? 'Unnamed lead'}</span> · {formatPhone(leadPhone(call))}
        </p>
        <KeyValues label="Lead fields" value={lead} empty="Convolo sent no lead fields." />
        <h3 class="sub-title">Custom params</h3>
        <KeyValues
          label="Custom params"
          value={customParams && typeof customParams === 'object' && !Array.isArray(customParams) ? (customParams as Record<string, unknown>) : null}
          empty="No custom params."
        />
      </section>
      <section class="panel" aria-labelledby="agent-heading">
        <h2 id="agent-heading" class="section-title">
          Agent
        </h2>
        <KeyValues label="Agent fields" value={call.agent as Record<string, unknown> | null} empty="No agent on this call." />
        <h3 class="sub-title">Recording</h3>
        <Recording link={call.recording_link} />
      </section>
    </div>
  );
}
