/**
 * The public surface of each library package is what its `api-report.md` says, and every
 * exported name carries TSDoc. Regenerate the reports with `npm run api-report` after a
 * deliberate change to a package's `src/index.ts`.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { REPORTED_PACKAGES, apiEntries, apiReport, reportPath } from '../scripts/api-report.js';

describe.each(REPORTED_PACKAGES)('public API of %s', (packageDir) => {
  it('matches the checked-in api-report.md (run `npm run api-report` after a deliberate change)', () => {
    expect(apiReport(packageDir)).toBe(readFileSync(reportPath(packageDir), 'utf8'));
  });

  it('documents every export with TSDoc', () => {
    expect(apiEntries(packageDir).filter((e) => !e.documented).map((e) => e.name)).toEqual([]);
  });
});
