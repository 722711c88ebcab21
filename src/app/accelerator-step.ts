/** The first step of every VM a use case boots: which accelerator, said out loud. */
import type { AcceleratorChoice } from '../core/accelerator.js';
import type { Step } from '../ui/progress.js';
import type { Deps } from './deps.js';

export function acceleratorStep<C extends { accelerator?: AcceleratorChoice }>(deps: Pick<Deps, 'accelerator' | 'out'>): Step<C> {
  return {
    id: 'accelerator',
    title: 'Probe the accelerator (KVM if it really works, else TCG)',
    run: async (s, report) => {
      s.accelerator = await deps.accelerator.probe();
      report(`${s.accelerator.accelerator}: ${s.accelerator.reason}`);
      deps.out.info(`accelerator: ${s.accelerator.accelerator} (${s.accelerator.reason})`);
    },
  };
}
