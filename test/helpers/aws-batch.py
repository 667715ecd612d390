# SPDX-License-Identifier: Apache-2.0
"""Runs /usr/bin/aws once per request line, in ONE Python process.

Each line on stdin is a JSON array of arguments. For each, this runs the unmodified /usr/bin/aws
script (runpy, as `python3 /usr/bin/aws ARGS` would: same driver, argument parsing, serialization,
signing, HTTP and error printing) with its stdout and stderr captured, and answers one JSON line
{"code", "stdout", "stderr"}. Only the interpreter start and the imports are shared, which is what
makes a separate `aws` process cost about a second of CPU.
"""
import contextlib
import io
import json
import runpy
import sys

AWS = '/usr/bin/aws'
answer = sys.stdout
for line in sys.stdin:
    argv = json.loads(line)
    out, err = io.StringIO(), io.StringIO()
    sys.argv = [AWS] + [str(a) for a in argv]
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_path(AWS, run_name='__main__')
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException as e:  # noqa: BLE001 - reported to the test as a failed run
            err.write(f'aws-batch: {type(e).__name__}: {e}\n')
            code = 255
    answer.write(json.dumps({'code': code, 'stdout': out.getvalue(), 'stderr': err.getvalue()}) + '\n')
    answer.flush()
