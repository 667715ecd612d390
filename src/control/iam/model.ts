// SPDX-License-Identifier: Apache-2.0
/**
 * IAM's records: users, groups, roles and customer managed policies, kept on the ledger like every
 * other resource (record id = IAM's unique id: `AIDA…`, `AGPA…`, `AROA…`, `ANPA…`). Access keys stay
 * in the store's key table (they hold secrets); each names its user.
 * @module
 */
import type { ResourceBase } from '../core/model.ts'

/** A policy attached by ARN, or an inline policy by name. */
export interface Attachments {
  /** Managed policy ARNs, in attachment order. */
  attached: string[]
  /** Inline policy name → document text. */
  inline: Record<string, string>
}

export interface IamUser extends ResourceBase, Attachments {
  kind: 'iam-user'
  name: string
  path: string
  arn: string
  createdAt: string
  /** Group names, in the order the user joined them. */
  groups: string[]
}

export interface IamGroup extends ResourceBase, Attachments {
  kind: 'iam-group'
  name: string
  path: string
  arn: string
  createdAt: string
}

export interface IamRole extends ResourceBase, Attachments {
  kind: 'iam-role'
  name: string
  path: string
  arn: string
  createdAt: string
  description: string
  /** The trust policy (AssumeRolePolicyDocument) as given. */
  trust: string
  maxSessionDuration: number
}

export interface PolicyVersion {
  versionId: string
  document: string
  createdAt: string
}

export interface IamPolicy extends ResourceBase {
  kind: 'iam-policy'
  name: string
  path: string
  arn: string
  description: string
  createdAt: string
  updatedAt: string
  defaultVersionId: string
  versions: PolicyVersion[]
  /** The next version number (`v3` after v1 and v2, even if v1 was deleted). */
  nextVersion: number
}

declare module '../core/model.ts' {
  interface ResourceKinds {
    'iam-user': IamUser
    'iam-group': IamGroup
    'iam-role': IamRole
    'iam-policy': IamPolicy
  }
}
