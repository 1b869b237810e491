import { randomBytes } from 'node:crypto';

/**
 * Ids of stored records (`inc_...`, `sub_...`): 80 random bits, so replicas sharing one
 * PostgreSQL never collide and an id reveals nothing about another. Not on the hot path.
 */
export function recordId(prefix: 'inc' | 'sub'): string {
  return `${prefix}_${randomBytes(10).toString('base64url')}`;
}
