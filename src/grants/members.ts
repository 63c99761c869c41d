/**
 * Members of a grant are colleagues of the creator's procuratorate (docs/architecture.md#grants). A member is written as a
 * bare `sub`, meaning a person of the creator's organisation, or qualified as `ORG/sub`. Qualifying exists
 * so that a client can say which organisation it means and be told no, rather than have a colleague of
 * another procuratorate silently turned into someone else who happens to share the `sub`: everything before
 * the first `/` is read as an organisation code, so a `sub` that itself contains `/` must be qualified.
 */
export type MembersCheck = { ok: true; members: string[] } | { ok: false; member: string; org: string; message: string }

const CONTROL_CHARS = /\p{Cc}/u

export function normaliseMembers(members: readonly string[], org: string, creator: string): MembersCheck {
  const subs: string[] = []
  for (const member of members) {
    const slash = member.indexOf('/')
    const memberOrg = slash === -1 ? org : member.slice(0, slash)
    const sub = slash === -1 ? member : member.slice(slash + 1)
    if (memberOrg !== org) {
      return {
        ok: false,
        member,
        org: memberOrg,
        message: `member ${JSON.stringify(member)} is of organisation ${memberOrg}: members must be colleagues of your procuratorate ${org}`,
      }
    }
    if (sub.length === 0) return { ok: false, member, org, message: `member ${JSON.stringify(member)} names nobody` }
    // No token can carry such a sub (see identity), and it could forge lines where members are printed.
    if (CONTROL_CHARS.test(sub)) {
      return { ok: false, member, org, message: `member ${JSON.stringify(member)} contains control characters` }
    }
    // The creator reads through the grant anyway; naming them as a member would only blur who is who.
    if (sub !== creator && !subs.includes(sub)) subs.push(sub)
  }
  return { ok: true, members: subs }
}
