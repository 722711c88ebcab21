import { availableParallelism } from 'node:os';
import type { Host } from '../core/ports.js';

export const systemHost: Host = {
  cpuCount: () => availableParallelism(),
};
