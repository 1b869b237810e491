/**
 * The words of an incident notification, for people: an e-mail (subject and plain text)
 * and an SMS short enough for two segments.
 */
import type { IncidentEvent, IncidentEventType, IncidentType } from './types.ts';

export interface EmailContent {
  subject: string;
  text: string;
}

const TYPE_WORDS: Record<IncidentType, string> = {
  outage: 'outage',
  degraded_performance: 'degraded performance',
  partial_outage: 'partial outage',
};

const EVENT_WORDS: Record<IncidentEventType, string> = {
  'incident.opened': 'opened',
  'incident.updated': 'updated',
  'incident.resolved': 'resolved',
};

/** Two GSM-7 segments; Twilio accepts 1600 characters, but each segment is billed. */
export const MAX_SMS_CHARS = 306;

/** One line, no control characters: the text ends up in a mail header or an SMS. */
function line(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
}

function headline(event: IncidentEvent): string {
  const i = event.data;
  const services = i.affected_services.length > 0 ? `: ${i.affected_services.join(', ')}` : '';
  return line(`${i.severity.toUpperCase()} ${TYPE_WORDS[i.type]} ${EVENT_WORDS[event.type]}${services}`);
}

/**
 * @example
 * renderEmail(event).subject // '[parrot] HIGH outage opened: openai/gpt-4'
 */
export function renderEmail(event: IncidentEvent): EmailContent {
  const i = event.data;
  const rows: [string, string][] = [
    ['Incident', i.id],
    ['Type', TYPE_WORDS[i.type]],
    ['Severity', i.severity],
    ['Status', i.status],
    ['Started', i.timestamp],
    ['Affected', i.affected_services.join(', ') || '-'],
    ['Regions', i.regions.join(', ') || 'all'],
    ['Impact', line(i.impact) || '-'],
  ];
  if (i.duration_minutes !== null) rows.push(['Duration', `${i.duration_minutes} minutes`]);
  if (i.resolution !== null) rows.push(['Resolution', line(i.resolution)]);
  const text = [
    `Incident ${i.id} ${EVENT_WORDS[event.type]}.`,
    '',
    ...rows.map(([k, v]) => `${`${k}:`.padEnd(12)}${v}`),
    '',
    `Event ${event.id} (${event.type}) at ${event.timestamp}.`,
    '',
  ].join('\n');
  return { subject: `[parrot] ${headline(event)}`, text };
}

/**
 * @example
 * renderSms(event) // 'parrot: HIGH outage opened: openai/gpt-4 [us-east-1]. Requests failed. (inc_1)'
 */
export function renderSms(event: IncidentEvent): string {
  const i = event.data;
  const regions = i.regions.length > 0 ? ` [${i.regions.join(', ')}]` : '';
  const head = `parrot: ${headline(event)}${regions}.`;
  const tail = ` (${i.id})`;
  const impact = line(i.impact);
  const room = MAX_SMS_CHARS - head.length - tail.length - 1;
  if (impact === '' || room < 10) return (head + tail).slice(0, MAX_SMS_CHARS);
  const said = impact.length <= room ? impact : `${impact.slice(0, room - 3)}...`;
  return `${head} ${said}${tail}`;
}
