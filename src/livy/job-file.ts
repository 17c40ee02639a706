import { realpathSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/** Where the job files are: as the control plane reads them, and as Livy's spark-submit sees them. */
export interface JobDirs {
  jobsDir: string;
  remoteJobsDir: string;
}

/**
 * The path Livy gets for a job file (a batch's `file` or one of its `pyFiles`), or an error when the
 * path is not a file inside the jobs directory. Livy's own `livy.file.local-dir-whitelist` is only a
 * string-prefix test on the path as sent (Livy 0.7.1 resolves neither `..` nor symlinks), so
 * `<jobs>/../anything` would pass it: the check that counts is this one.
 *
 * The path must be `<remoteJobsDir>/<relative>` with a relative part of plain segments (no `..`, `.`
 * or empty ones); the same relative path under the local jobs directory must resolve, symlinks
 * followed, to a regular file still inside that directory's real path. What is sent is built from
 * that real location: the canonical path when Livy reads the local directory, else the remote
 * directory joined with the canonical relative path.
 */
export function jobFileForLivy(path: string, dirs: JobDirs): string {
  const refuse = (why: string): never => {
    throw new Error(`Refusing to send ${JSON.stringify(path)} to Livy: ${why}`);
  };
  const remote = dirs.remoteJobsDir.replace(/\/+$/, '');
  if (!path.startsWith(`${remote}/`)) refuse(`not under the jobs directory ${remote}/`);
  const rel = path.slice(remote.length + 1);
  if (rel.split('/').some((s) => s === '' || s === '.' || s === '..') || rel.includes('\0')) {
    refuse('the path inside the jobs directory must not contain "..", "." or empty segments');
  }
  let root: string;
  let real: string;
  try {
    root = realpathSync(dirs.jobsDir);
    real = realpathSync(join(root, rel));
  } catch (err) {
    return refuse(`it does not exist in ${dirs.jobsDir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (!real.startsWith(root + sep)) refuse(`it resolves to ${real}, outside the jobs directory ${root}`);
  if (!statSync(real).isFile()) refuse('not a regular file');
  const local = remote === dirs.jobsDir.replace(/\/+$/, '');
  return local ? real : `${remote}/${relative(root, real).split(sep).join('/')}`;
}
