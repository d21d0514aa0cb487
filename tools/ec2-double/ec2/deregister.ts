// DeregisterImage as EC2 documents it: protection refuses it, DeleteAssociatedSnapshots reports
// each snapshot, skipping one another image still uses, and an image (or snapshot) a Recycle Bin
// rule retains goes to the bin.
import type { Caller } from '../caller.ts'
import { FrontError, type Reply } from '../protocol.ts'
import type { Deregistration } from '../state.ts'
import { leaf, node, parseXml, serializeXml, type XmlElement } from '../xml.ts'
import { isProtectedAt } from './image-attributes.ts'
import { deletedIntoBin, deregisteredIntoBin } from './recycle-bin.ts'
import { isDryRun } from './requests.ts'
import { ownersOnly } from './shared-images.ts'
import { snapshotsByImage } from './snapshots.ts'

/**
 * DeregisterImage (EC2 API Reference, DeregisterImage; DeleteSnapshotReturnCode): protection
 * refuses it; with DeleteAssociatedSnapshots each snapshot is reported: success, or skipped "because
 * it's associated with other AMIs". EC2 judges that as of the request: an image whose own
 * DeregisterImage is under way when this one arrives, or arrives while this one is, still counts as
 * using its snapshots, whichever finishes first — so two images sharing a snapshot, deregistered
 * together, both skip it. The double orders this by arrival, not by time, so it holds on any clock.
 * Disabled images count too (EC2 User Guide, "Disable an AMI": their snapshots cannot be deleted).
 */
export async function deregisterImage(caller: Caller, params: URLSearchParams): Promise<Reply> {
  if (isDryRun(params)) return caller.send(params)
  const imageId = params.get('ImageId') ?? ''
  if (isProtectedAt(caller.state.images.get(imageId)?.protection, caller.now())) {
    throw new FrontError(
      400,
      'OperationNotPermitted',
      `Image ${imageId} has deregistration protection enabled (or in its cooldown); disable it before deregistering.`
    )
  }
  const { deregistering } = caller.state
  const scope = caller.scope
  const underWayOnArrival = [...deregistering].filter((other) => other.scope === scope)
  let knowOwn: (snapshots: string[]) => void = () => undefined
  const mine: Deregistration = { scope, imageId, snapshots: new Promise((resolve) => (knowOwn = resolve)) }
  deregistering.add(mine)
  try {
    const images = await snapshotsByImage(caller)
    const own = images.get(imageId) ?? []
    knowOwn(own)
    const used = new Set([...images].filter(([id]) => id !== imageId).flatMap(([, snapshots]) => snapshots))
    for (const other of new Set([...underWayOnArrival, ...deregistering]))
      if (other.scope === scope && other.imageId !== imageId) for (const snapshot of await other.snapshots) used.add(snapshot)
    const rest = new URLSearchParams(params)
    rest.delete('DeleteAssociatedSnapshots')
    // Only its owner deregisters an image (shared-images.ts, refuseNotOwned); one a Recycle Bin
    // rule retains goes to the bin (recycle-bin.ts).
    const reply = await ownersOnly(caller, imageId, await deregisteredIntoBin(caller, imageId, own, () => caller.send(rest)))
    if (reply.status >= 400 || params.get('DeleteAssociatedSnapshots') !== 'true') return reply
    // An image registered on one of the snapshots while this one was being deregistered uses it
    // now, and EC2 refuses to delete a snapshot any image uses (DeleteSnapshot,
    // InvalidSnapshot.InUse): looked at again, as of now, before anything is deleted.
    for (const [id, snapshots] of await snapshotsByImage(caller)) if (id !== imageId) for (const snapshot of snapshots) used.add(snapshot)
    const xml = parseXml(reply.body)
    xml.children.push(node('deleteSnapshotResultSet', await deleteSnapshots(caller, own, used)))
    return { status: reply.status, body: serializeXml(xml) }
  } finally {
    // A listing that failed leaves the others nothing of this image's to wait for.
    knowOwn([])
    deregistering.delete(mine)
  }
}

/**
 * Deletes each snapshot no other image uses, and says what became of each. One a Recycle Bin rule
 * retains goes to the bin and is reported deleted (success): EC2 documents nothing else for
 * DeleteAssociatedSnapshots under a rule, and a retained snapshot is deleted as far as the account's
 * snapshots go.
 */
async function deleteSnapshots(caller: Caller, own: string[], used: Set<string>): Promise<XmlElement[]> {
  const results: XmlElement[] = []
  for (const snapshot of own) {
    const remove = (): Promise<Reply> =>
      caller.send(new URLSearchParams({ Action: 'DeleteSnapshot', Version: '2016-11-15', SnapshotId: snapshot }))
    const code = used.has(snapshot)
      ? 'skipped'
      : await deletedIntoBin(caller, snapshot, remove).then(
          (reply) => (reply.status < 400 ? 'success' : 'client-error'),
          () => 'client-error'
        )
    results.push(node('item', [leaf('snapshotId', snapshot), leaf('returnCode', code)]))
  }
  return results
}
