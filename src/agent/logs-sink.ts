// SPDX-License-Identifier: Apache-2.0
/**
 * The agent's side of flow-log delivery to CloudWatch Logs: PutLogEvents to the server's `logs`
 * service (JSON 1.1, SigV4-signed with the agent's key), creating the log group and the interface's
 * log stream when they do not exist yet (as the flow-logs service does). The server refuses what the
 * flow log's IAM role does not allow (AccessDeniedException): a {@link LogGroupAccessError}, the flow
 * log's "Access error"; a group that cannot be created is a {@link LogGroupMissingError}; anything
 * else is retried by the deliverer.
 * @module
 */
import { signRequest } from '../api/index.ts'
import {
  LogGroupAccessError,
  LogGroupMissingError,
  type LogEvent,
  type LogEventsSink,
} from '../flowlogs/index.ts'
import type { AgentCredentials } from './client.ts'
import { AgentServerError } from './errors.ts'

const TARGET_PREFIX = 'Logs_20140328'

export class LogsHttpSink implements LogEventsSink {
  readonly endpoint: URL
  private readonly creds: AgentCredentials

  constructor(endpoint: string, creds: AgentCredentials) {
    this.endpoint = new URL(endpoint)
    this.creds = creds
  }

  /** One JSON 1.1 call; a failure is an AgentServerError whose message starts with the AWS code. */
  private async call(action: string, input: object): Promise<unknown> {
    const body = JSON.stringify(input)
    const headers = signRequest({
      method: 'POST',
      url: this.endpoint,
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': `${TARGET_PREFIX}.${action}`,
      },
      body,
      accessKeyId: this.creds.accessKeyId,
      secretAccessKey: this.creds.secretAccessKey,
      region: this.creds.region,
      service: 'logs',
    })
    delete headers.host
    let res: Response
    try {
      res = await fetch(this.endpoint, { method: 'POST', headers, body })
    } catch (err) {
      throw new AgentServerError(`cannot reach ${this.endpoint.origin}: ${(err as Error).message}`, 0, {
        cause: err,
      })
    }
    const text = await res.text()
    if (!res.ok) {
      let code = String(res.status)
      let message = text.slice(0, 200)
      try {
        const e = JSON.parse(text) as { __type?: string; message?: string }
        code = e.__type ?? code
        message = e.message ?? message
      } catch {
        // not JSON: keep the status and the start of the body
      }
      throw new AgentServerError(`${code}: ${message}`, res.status)
    }
    return text === '' ? {} : (JSON.parse(text) as unknown)
  }

  /** An AccessDeniedException is the flow log's "Access error" (its role does not allow the call). */
  private async guarded(group: string, action: string, input: object): Promise<unknown> {
    try {
      return await this.call(action, input)
    } catch (err) {
      const m = (err as Error).message
      if (m.startsWith('AccessDeniedException')) throw new LogGroupAccessError(group, m.slice(23).trim())
      throw err
    }
  }

  async put(group: string, stream: string, events: readonly LogEvent[]): Promise<void> {
    const put = () =>
      this.guarded(group, 'PutLogEvents', { logGroupName: group, logStreamName: stream, logEvents: events })
    try {
      await put()
      return
    } catch (err) {
      const msg = (err as Error).message
      if (!msg.startsWith('ResourceNotFoundException')) throw err
      // A missing log group is created, as the flow-logs service does (when the role allows it).
      if (/log group/.test(msg)) {
        try {
          await this.guarded(group, 'CreateLogGroup', { logGroupName: group })
        } catch (e) {
          if (e instanceof LogGroupAccessError) throw e
          if (!(e as Error).message.startsWith('ResourceAlreadyExistsException'))
            throw new LogGroupMissingError(group)
        }
      }
    }
    try {
      await this.guarded(group, 'CreateLogStream', { logGroupName: group, logStreamName: stream })
    } catch (e) {
      const m = (e as Error).message
      if (m.startsWith('ResourceNotFoundException')) throw new LogGroupMissingError(group)
      if (!m.startsWith('ResourceAlreadyExistsException')) throw e
    }
    await put()
  }
}
