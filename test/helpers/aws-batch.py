# SPDX-License-Identifier: Apache-2.0
"""Runs /usr/bin/aws once per request line, in ONE Python process.

Each line on stdin is a JSON array of arguments, or an object {"argv": [...], "env": {NAME: value}}
whose `env` overrides the process environment for that command only (a null value unsets the
variable): credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), AWS_PROFILE,
AWS_DEFAULT_REGION and the like. The environment is restored after the command.

For each, this runs the unmodified /usr/bin/aws script (runpy, as `python3 /usr/bin/aws ARGS` would:
same driver, argument parsing, serialization, signing, HTTP and error printing) with its stdout and
stderr captured, and answers one JSON line {"code", "stdout", "stderr"}. Only the interpreter start
and the imports are shared, which is what makes a separate `aws` process cost about a second of CPU.

Nothing of a command's credentials outlives it: the script's `main()` builds a new CLI driver and a
new botocore Session (credential resolver, loaders, clients and their connection pools) on every
run, and the environment provider reads os.environ when that Session first asks for credentials.
The one credential store that outlives a Session, the CLI's assume-role JSON cache under
~/.aws/cli/cache, is only used for profiles with a role_arn; none of the tests' profiles has one.
"""
import contextlib
import io
import json
import os
import runpy
import sys

AWS = '/usr/bin/aws'
answer = sys.stdout
for line in sys.stdin:
    req = json.loads(line)
    argv, overrides = (req, {}) if isinstance(req, list) else (req['argv'], req.get('env') or {})
    saved = {k: os.environ.get(k) for k in overrides}
    for k, v in overrides.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = str(v)
    out, err = io.StringIO(), io.StringIO()
    sys.argv = [AWS] + [str(a) for a in argv]
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                runpy.run_path(AWS, run_name='__main__')
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            except BaseException as e:  # noqa: BLE001 - reported to the test as a failed run
                err.write(f'aws-batch: {type(e).__name__}: {e}\n')
                code = 255
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    answer.write(json.dumps({'code': code, 'stdout': out.getvalue(), 'stderr': err.getvalue()}) + '\n')
    answer.flush()
