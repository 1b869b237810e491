import { describe, expect, it } from 'vitest';
import { matches } from '../../src/notify/match.ts';
import type { Incident } from '../../src/notify/types.ts';

type Sub = Parameters<typeof matches>[0];
type Inc = Pick<Incident, 'type' | 'severity' | 'regions'>;

const seed: Sub = { severity_threshold: 'medium', include_types: ['outage', 'degraded_performance', 'partial_outage'], regions: ['us-east-1', 'eu-west-1'] };
const everything: Sub = { severity_threshold: 'low' };

describe('which incidents reach a subscription', () => {
  it.each<[string, Sub, Inc, boolean]>([
    ['severity at the threshold', seed, { type: 'outage', severity: 'medium', regions: ['us-east-1'] }, true],
    ['severity above it', seed, { type: 'outage', severity: 'critical', regions: ['us-east-1'] }, true],
    ['severity below it', seed, { type: 'outage', severity: 'low', regions: ['us-east-1'] }, false],
    ['high under a critical threshold', { severity_threshold: 'critical' }, { type: 'outage', severity: 'high', regions: [] }, false],
    ['a listed type', { ...seed, include_types: ['partial_outage'] }, { type: 'partial_outage', severity: 'high', regions: ['eu-west-1'] }, true],
    ['a type not listed', { ...seed, include_types: ['outage'] }, { type: 'degraded_performance', severity: 'high', regions: ['eu-west-1'] }, false],
    ['one of its regions listed', seed, { type: 'outage', severity: 'high', regions: ['ap-south-1', 'eu-west-1'] }, true],
    ['none of its regions listed', seed, { type: 'outage', severity: 'high', regions: ['ap-south-1'] }, false],
    ['an incident tied to no region', seed, { type: 'outage', severity: 'high', regions: [] }, true],
    ['filters left out: anything', everything, { type: 'degraded_performance', severity: 'low', regions: ['sa-east-1'] }, true],
  ])('%s', (_name, sub, incident, expected) => {
    expect(matches(sub, incident)).toBe(expected);
  });
});
