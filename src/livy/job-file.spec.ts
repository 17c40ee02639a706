import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jobFileForLivy } from './job-file';

describe('jobFileForLivy', () => {
  // <tmp>/repo/spark-jobs holds the jobs; <tmp>/repo/package.json and <tmp>/secret.txt lie outside it.
  let base: string;
  let jobs: string;

  beforeAll(() => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'job-file-')));
    jobs = join(base, 'repo', 'spark-jobs');
    mkdirSync(join(jobs, 'lib'), { recursive: true });
    writeFileSync(join(jobs, 'job.py'), 'print(1)\n');
    writeFileSync(join(jobs, 'lib', 'helpers.py'), '\n');
    writeFileSync(join(base, 'repo', 'package.json'), '{}\n');
    writeFileSync(join(base, 'secret.txt'), 'secret\n');
    symlinkSync(join(base, 'secret.txt'), join(jobs, 'escape.py'));
    symlinkSync(join(base, 'repo'), join(jobs, 'up'));
    symlinkSync(join(jobs, 'job.py'), join(jobs, 'alias.py'));
  });

  afterAll(() => rmSync(base, { recursive: true, force: true }));

  const local = () => ({ jobsDir: jobs, remoteJobsDir: jobs });

  it('passes a file inside the jobs directory, and one in a subdirectory, as their real paths', () => {
    expect(jobFileForLivy(`${jobs}/job.py`, local())).toBe(join(jobs, 'job.py'));
    expect(jobFileForLivy(`${jobs}/lib/helpers.py`, local())).toBe(join(jobs, 'lib', 'helpers.py'));
  });

  it('passes a symlink that stays inside the jobs directory, sending where it leads', () => {
    expect(jobFileForLivy(`${jobs}/alias.py`, local())).toBe(join(jobs, 'job.py'));
  });

  it.each([
    ['a ".." segment', () => `${jobs}/../package.json`],
    ['a ".." segment that comes back inside', () => `${jobs}/../spark-jobs/job.py`],
    ['a "." segment', () => `${jobs}/./job.py`],
    ['an empty segment', () => `${jobs}//job.py`],
  ])('refuses a path with %s', (_what, path) => {
    expect(() => jobFileForLivy(path(), local())).toThrow(/must not contain "\.\."/);
  });

  it('refuses a path outside the jobs directory, also one that merely shares its prefix', () => {
    expect(() => jobFileForLivy(join(base, 'secret.txt'), local())).toThrow(/not under the jobs directory/);
    expect(() => jobFileForLivy(`${jobs}-other/job.py`, local())).toThrow(/not under the jobs directory/);
  });

  it('refuses a symlink that leads out of the jobs directory', () => {
    expect(() => jobFileForLivy(`${jobs}/escape.py`, local())).toThrow(/outside the jobs directory/);
    expect(() => jobFileForLivy(`${jobs}/up/package.json`, local())).toThrow(/outside the jobs directory/);
  });

  it('refuses a file that does not exist, and a directory', () => {
    expect(() => jobFileForLivy(`${jobs}/missing.py`, local())).toThrow(/does not exist.*ENOENT/);
    expect(() => jobFileForLivy(`${jobs}/lib`, local())).toThrow(/not a regular file/);
  });

  it('checks against the local copy when Livy sees the files elsewhere, and sends the remote path', () => {
    const dirs = { jobsDir: jobs, remoteJobsDir: '/opt/spark-jobs/' };

    expect(jobFileForLivy('/opt/spark-jobs/lib/helpers.py', dirs)).toBe('/opt/spark-jobs/lib/helpers.py');
    expect(jobFileForLivy('/opt/spark-jobs/alias.py', dirs)).toBe('/opt/spark-jobs/job.py');
    expect(() => jobFileForLivy('/opt/spark-jobs/../etc/passwd', dirs)).toThrow(/must not contain/);
    expect(() => jobFileForLivy('/opt/spark-jobs/escape.py', dirs)).toThrow(/outside the jobs directory/);
    expect(() => jobFileForLivy(`${jobs}/job.py`, dirs)).toThrow(/not under the jobs directory \/opt\/spark-jobs\//);
  });

  it('resolves the jobs directory itself when it is reached through a symlink', () => {
    const linked = join(base, 'jobs-link');
    symlinkSync(jobs, linked);

    expect(jobFileForLivy(`${linked}/job.py`, { jobsDir: linked, remoteJobsDir: linked })).toBe(join(jobs, 'job.py'));
  });
});
