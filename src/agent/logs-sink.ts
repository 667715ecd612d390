// SPDX-License-Identifier: Apache-2.0
/**
 * The agent's side of flow-log delivery to CloudWatch Logs: PutLogEvents to the server's `logs`
 * service (JSON 1.1, SigV4-signed with the agent's key), creating the interface's log stream when
 * it does not exist yet. A missing log group is a {@link LogGroupMissingError} (the flow log's
 * delivery status says so); anything else is retried by the deliverer.
 * @module
 */
import { signRequest } from '../api/index.ts'
import { LogGroupMissingError, type LogEvent, type LogEventsSink } from '../flowlogs/index.ts'
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

  async put(group: string, stream: string, events: readonly LogEvent[]): Promise<void> {
    const put = () =>
      this.call('PutLogEvents', { logGroupName: group, logStreamName: stream, logEvents: events })
    try {
      await put()
    } catch (err) {
      const msg = (err as Error).message
      if (!msg.startsWith('ResourceNotFoundException')) throw err
      if (/log group/.test(msg)) throw new LogGroupMissingError(group)
      try {
        await this.call('CreateLogStream', { logGroupName: group, logStreamName: stream })
      } catch (e) {
        const m = (e as Error).message
        if (m.startsWith('ResourceNotFoundException')) throw new LogGroupMissingError(group)
        if (!m.startsWith('ResourceAlreadyExistsException')) throw e
      }
      await put()
    }
  }
}
