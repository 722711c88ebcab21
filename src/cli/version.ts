/** The tool's version (package.json), for --version and the event stream's run event. */
export const VERSION = '0.1.0';
