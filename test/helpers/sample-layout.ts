/** The files of a minimal project in this tool's own layout (for CLI tests that never boot a VM). */
export const SAMPLE_LAYOUT: Readonly<Record<string, string>> = {
  'definitions/builder/packages': 'sudo\n',
  'definitions/builder/APT_snapshots.d/debian/serial': '2024090201\n',
  'definitions/builder/APT_snapshots.d/debian-security/serial': '2024090202\n',
  'definitions/iso/APT_snapshots.d/debian/serial': '2024101502\n',
  'definitions/iso/APT_snapshots.d/debian-security/serial': 'latest\n',
  // The default build command's script: preflight refuses a project without it.
  'definitions/iso/build.sh': '#!/bin/bash\n',
};
