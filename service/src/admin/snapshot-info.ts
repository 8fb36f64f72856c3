import type { GroupStatus } from '../oauth/deps.ts';

/** The snapshot facts an operator needs to judge an answer: which generation, how old, stale or not. */
export function snapshotInfo(s: GroupStatus): { generation: number; updatedAt: string | null; ageSeconds: number | null; stale: boolean } {
  return {
    generation: s.generation,
    updatedAt: s.updatedAt === null ? null : new Date(s.updatedAt).toISOString(),
    ageSeconds: s.ageSeconds === null ? null : Math.round(s.ageSeconds * 1000) / 1000,
    stale: s.stale,
  };
}
