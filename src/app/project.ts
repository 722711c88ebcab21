/** Observe the project checkout and resolve its configuration. */
import { join, resolve } from 'node:path';
import { CONFIG_FILE, resolveProjectConfig, TAILS_BOX_DEFINITION_DIR, TAILS_SETTINGS_FILE, type ProjectConfig } from '../core/project.js';
import { messages } from '../core/messages/index.js';
import type { Deps } from './deps.js';

export interface ProjectLocation {
  /** `--project DIR`, if given. */
  readonly projectDir: string | undefined;
  readonly cwd: string;
}

export async function loadProject(deps: Pick<Deps, 'git' | 'files'>, where: ProjectLocation): Promise<ProjectConfig> {
  const start = resolve(where.cwd, where.projectDir ?? '.');
  if (!(await deps.files.isDirectory(start))) {
    throw messages.git.unreadableDir(start, new Error('no such directory'));
  }
  const root = await deps.git.findTopLevel(start);
  const [hasTailsBoxDefinition, tailsSettings, configText] = await Promise.all([
    deps.files.isDirectory(join(root, TAILS_BOX_DEFINITION_DIR)),
    deps.files.readText(join(root, TAILS_SETTINGS_FILE)),
    deps.files.readText(join(root, CONFIG_FILE)),
  ]);
  return resolveProjectConfig({ root, hasTailsBoxDefinition, tailsSettings, configText });
}
