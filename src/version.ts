import { readFileSync } from 'node:fs';

// esbuild's `define` replaces this identifier with the package's version when the bundle is
// built (scripts/package.sh); from a checkout it is undeclared and package.json answers.
declare const __HARBOR_ASSISTANT_VERSION__: string | undefined;

function fromPackageJson(): string {
  try {
    const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && 'version' in parsed && typeof parsed.version === 'string') return parsed.version;
  } catch {
    // a checkout without package.json beside dist/: say so rather than guess
  }
  return 'unknown';
}

/** The version of this build: the package's when installed, package.json's in a checkout. */
export const VERSION: string = typeof __HARBOR_ASSISTANT_VERSION__ === 'string' ? __HARBOR_ASSISTANT_VERSION__ : fromPackageJson();
