// Recycle Bin retention rules, read only (Recycle Bin API Reference: ListRules, GetRule): which
// rules would keep a deregistered image, or a deleted snapshot, recoverable, and for how long. The
// rbin SDK is loaded only by a prune that deregisters.
import type { Aws } from './client.ts'
import { hasCode } from './errors.ts'

export type RetainedType = 'EC2_IMAGE' | 'EBS_SNAPSHOT'

export interface ResourceTagRule {
  key: string
  /** Absent: any value of the key. */
  value?: string
}

export interface RetentionRule {
  id: string
  resourceType: RetainedType
  retentionDays: number
  /** A tag-level rule retains resources with any of these tags; a region-level rule has none. */
  tags: ResourceTagRule[]
  /** A region-level rule retains every resource but those with any of these tags; undefined: unknown. */
  excludeTags: ResourceTagRule[] | undefined
  /** Only an available rule retains anything; a new one is pending for a while. */
  status: string
}

/**
 * Every rule of the region for a resource type: one ListRules per page, then one GetRule per rule
 * (a summary has neither its tags nor its status). The SDK the registry offers predates exclusion
 * tags, so GetRule's raw answer is read for ExcludeResourceTags.
 */
export async function retentionRules(aws: Aws, region: string, resourceType: RetainedType): Promise<RetentionRule[]> {
  const { ListRulesCommand, GetRuleCommand } = await import('@aws-sdk/client-rbin')
  const ids: string[] = []
  let NextToken: string | undefined
  do {
    const page = await aws.rbin(region, 'ListRules', `${resourceType} rules`, (client) =>
      client.send(new ListRulesCommand({ ResourceType: resourceType, MaxResults: 100, ...(NextToken !== undefined && { NextToken }) }))
    )
    for (const rule of page.Rules ?? []) if (rule.Identifier) ids.push(rule.Identifier)
    NextToken = page.NextToken || undefined
  } while (NextToken !== undefined)
  // One GetRule per rule, all at once (paced by the AWS layer); a rule deleted since the listing is gone.
  const rules = await Promise.all(ids.map((id) => rule(aws, region, resourceType, id, GetRuleCommand)))
  return rules.filter((found): found is RetentionRule => found !== undefined)
}

async function rule(
  aws: Aws,
  region: string,
  resourceType: RetainedType,
  id: string,
  GetRuleCommand: typeof import('@aws-sdk/client-rbin').GetRuleCommand
): Promise<RetentionRule | undefined> {
  const command = new GetRuleCommand({ Identifier: id })
  let raw: string | undefined
  command.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args)
      const response = result.response as { body?: unknown }
      if (response.body && typeof (response.body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function') {
        const chunks: Uint8Array[] = []
        for await (const chunk of response.body as AsyncIterable<Uint8Array>) chunks.push(chunk)
        const body = Buffer.concat(chunks)
        raw = body.toString('utf8')
        response.body = new Uint8Array(body)
      }
      return result
    },
    { step: 'deserialize', priority: 'low', name: 'amiPipelineRawRule' }
  )
  let found
  try {
    found = await aws.rbin(region, 'GetRule', `rule ${id}`, (client) => client.send(command))
  } catch (error) {
    if (hasCode(error, 'ResourceNotFoundException')) return undefined
    throw error
  }
  const tags = tagRules(found.ResourceTags)
  // The SDK drops ExcludeResourceTags; the raw answer has them. Unread, they are unknown, never none.
  const parsed =
    raw === undefined ? undefined : (JSON.parse(raw) as { ExcludeResourceTags?: { ResourceTagKey?: string; ResourceTagValue?: string }[] })
  return {
    id,
    resourceType,
    retentionDays: found.RetentionPeriod?.RetentionPeriodUnit === 'DAYS' ? (found.RetentionPeriod.RetentionPeriodValue ?? 0) : 0,
    tags,
    excludeTags: tags.length > 0 ? [] : parsed === undefined ? undefined : tagRules(parsed.ExcludeResourceTags),
    status: found.Status ?? ''
  }
}

function tagRules(
  tags: readonly { ResourceTagKey?: string | undefined; ResourceTagValue?: string | undefined }[] | undefined
): ResourceTagRule[] {
  return (tags ?? []).flatMap((tag) =>
    tag.ResourceTagKey
      ? [
          {
            key: tag.ResourceTagKey,
            ...(tag.ResourceTagValue !== undefined && tag.ResourceTagValue !== '' && { value: tag.ResourceTagValue })
          }
        ]
      : []
  )
}
