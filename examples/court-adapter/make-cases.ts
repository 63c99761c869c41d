/**
 * Writes the synthetic Heilongjiang cases shipped in `examples/court-adapter/cases/`: one `case.json` per case
 * and a small one-page PDF per document. The output is committed; rerun this script only to change the set:
 *
 *   npx tsx examples/court-adapter/make-cases.ts [OUT_DIR]
 *
 * Courts and their codes are real; parties, facts and every text are invented. The output is deterministic
 * (no clocks, no randomness), so regenerating yields byte-identical files and the committed digests stay put.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { shippedCasesDir } from './paths.js'

interface DocumentSpec {
  id: string
  title: string
  /** ASCII lines printed on the page, after the standard header. */
  body: string[]
}

interface VolumeSpec {
  id: string
  kind: 'main' | 'sub'
  title: string
  documents: DocumentSpec[]
}

interface CaseSpec {
  court: string
  courtName: string
  courtNameAscii: string
  folder: string
  caseNo: string
  caseType: string
  title: string
  status: 'open' | 'suspended' | 'closed'
  filedOn: string
  closedOn?: string
  volumes: VolumeSpec[]
}

const HARBIN_INTERMEDIATE = {
  court: '黑01',
  courtName: '黑龙江省哈尔滨市中级人民法院',
  courtNameAscii: "Harbin Intermediate People's Court, Heilongjiang (Hei 01)",
}
const NANGANG_DISTRICT = {
  court: '黑0103',
  courtName: '黑龙江省哈尔滨市南岗区人民法院',
  courtNameAscii: "Nangang District People's Court, Harbin, Heilongjiang (Hei 0103)",
}

export const CASES: CaseSpec[] = [
  {
    ...HARBIN_INTERMEDIATE,
    folder: '2023-min-zhong-1234',
    caseNo: '（2023）黑01民终1234号',
    caseType: '民终',
    title: '上诉人王某某与被上诉人哈尔滨某物业服务有限公司物业服务合同纠纷二审案',
    status: 'closed',
    filedOn: '2023-04-10',
    closedOn: '2023-08-22',
    volumes: [
      {
        id: 'main',
        kind: 'main',
        title: '正卷',
        documents: [
          {
            id: 'main-01-appeal',
            title: '上诉状',
            body: ['Appellant: Wang (invented) against a property services company.'],
          },
          { id: 'main-02-answer', title: '答辩状', body: ['Appellee answers that the service fees were due.'] },
          { id: 'main-03-evidence', title: '证据材料', body: ['Exhibits 1-6: service contract, fee notices, photos.'] },
          { id: 'main-04-hearing', title: '庭审笔录', body: ['Hearing of 2023-06-14, both parties present.'] },
          { id: 'main-05-judgment', title: '民事判决书', body: ['Appeal dismissed; first-instance judgment upheld.'] },
          { id: 'main-06-service', title: '送达回证', body: ['Judgment served on both parties 2023-08-25.'] },
        ],
      },
      {
        id: 'sub',
        kind: 'sub',
        title: '副卷',
        documents: [
          { id: 'sub-01-report', title: '审理报告', body: ['Internal trial report of the presiding judge.'] },
          { id: 'sub-02-deliberation', title: '合议庭评议笔录', body: ['Collegial panel deliberation, 3 judges.'] },
          { id: 'sub-03-committee', title: '审判委员会讨论记录', body: ['Judicial committee discussion record.'] },
          { id: 'sub-04-original', title: '判决书原本', body: ['Master copy of the judgment, signed.'] },
        ],
      },
    ],
  },
  {
    ...HARBIN_INTERMEDIATE,
    folder: '2024-zhi-hui-56',
    caseNo: '（2024）黑01执恢56号',
    caseType: '执恢',
    title: '申请执行人某银行股份有限公司哈尔滨分行与被执行人李某某、赵某某借款合同纠纷恢复执行案',
    status: 'open',
    filedOn: '2024-03-05',
    volumes: [
      {
        id: 'main',
        kind: 'main',
        title: '正卷',
        documents: [
          {
            id: 'main-01-application',
            title: '恢复执行申请书',
            body: ['Creditor bank applies to resume enforcement.'],
          },
          {
            id: 'main-02-basis',
            title: '执行依据（民事判决书）',
            body: ['Enforcement basis: an invented loan judgment.'],
          },
          { id: 'main-03-assets', title: '财产查控记录', body: ['Online search of bank accounts and real estate.'] },
          { id: 'main-04-record', title: '执行笔录', body: ['Interview with the debtor Li (invented).'] },
          { id: 'main-05-ruling', title: '执行裁定书', body: ['Ruling to freeze a deposit account.'] },
        ],
      },
      {
        id: 'sub',
        kind: 'sub',
        title: '副卷',
        documents: [
          {
            id: 'sub-01-report',
            title: '执行案件审查报告',
            body: ['Internal review report of the enforcement judge.'],
          },
          {
            id: 'sub-02-deliberation',
            title: '合议庭评议笔录',
            body: ['Collegial panel deliberation on the objection.'],
          },
          { id: 'sub-03-approval', title: '内部审批表', body: ['Internal approval form for the freezing order.'] },
          { id: 'sub-04-original', title: '裁定书原本', body: ['Master copy of the ruling, signed.'] },
        ],
      },
    ],
  },
  {
    ...NANGANG_DISTRICT,
    folder: '2023-min-chu-4567',
    caseNo: '（2023）黑0103民初4567号',
    caseType: '民初',
    title: '原告刘某某与被告陈某某民间借贷纠纷案',
    status: 'closed',
    filedOn: '2023-02-20',
    closedOn: '2023-06-30',
    volumes: [
      {
        id: 'main',
        kind: 'main',
        title: '正卷',
        documents: [
          { id: 'main-01-complaint', title: '起诉状', body: ['Plaintiff Liu (invented) claims repayment of a loan.'] },
          { id: 'main-02-answer', title: '答辩状', body: ['Defendant Chen (invented) says part was repaid.'] },
          { id: 'main-03-evidence', title: '证据材料', body: ['IOU, bank transfer records, chat messages.'] },
          { id: 'main-04-hearing', title: '庭审笔录', body: ['Hearing of 2023-05-18.'] },
          { id: 'main-05-judgment', title: '民事判决书', body: ['Defendant to repay the principal with interest.'] },
          { id: 'main-06-service', title: '送达回证', body: ['Judgment served on both parties 2023-07-03.'] },
        ],
      },
      {
        id: 'sub',
        kind: 'sub',
        title: '副卷',
        documents: [
          { id: 'sub-01-report', title: '审理报告', body: ['Internal trial report.'] },
          { id: 'sub-02-deliberation', title: '合议庭评议笔录', body: ['Collegial panel deliberation record.'] },
          { id: 'sub-03-committee', title: '审判委员会讨论记录', body: ['Judicial committee discussion record.'] },
          { id: 'sub-04-original', title: '判决书原本', body: ['Master copy of the judgment, signed.'] },
        ],
      },
    ],
  },
  {
    ...NANGANG_DISTRICT,
    folder: '2024-zhi-789',
    caseNo: '（2024）黑0103执789号',
    caseType: '执',
    title: '申请执行人刘某某与被执行人陈某某民间借贷纠纷执行案',
    status: 'closed',
    filedOn: '2024-01-15',
    closedOn: '2024-05-10',
    volumes: [
      {
        id: 'main',
        kind: 'main',
        title: '正卷',
        documents: [
          { id: 'main-01-application', title: '强制执行申请书', body: ['Liu (invented) applies for enforcement.'] },
          { id: 'main-02-notice', title: '执行通知书', body: ['Notice to perform within the set time.'] },
          { id: 'main-03-assets', title: '财产报告令', body: ['Order to report assets.'] },
          { id: 'main-04-ruling', title: '执行裁定书', body: ['Ruling to end this enforcement procedure.'] },
        ],
      },
      {
        id: 'sub',
        kind: 'sub',
        title: '副卷',
        documents: [
          { id: 'sub-01-report', title: '执行案件审查报告', body: ['Internal review report.'] },
          { id: 'sub-02-deliberation', title: '合议庭评议笔录', body: ['Collegial panel deliberation record.'] },
          { id: 'sub-03-approval', title: '内部审批表', body: ['Internal approval form.'] },
        ],
      },
    ],
  },
]

/** A PDF literal string; only the three characters PDF treats specially need escaping. */
function pdfLiteral(text: string): string {
  if (!/^[\x20-\x7e]*$/.test(text)) throw new Error(`page text must be printable ASCII: ${text}`)
  return `(${text.replace(/[\\()]/g, (c) => `\\${c}`)})`
}

/** Text outside Latin-1 goes into the Info dictionary as UTF-16BE with a BOM, the form PDF readers decode. */
function pdfUtf16(text: string): string {
  const bytes = Buffer.from(`\ufeff${text}`, 'utf16le').swap16()
  return `<${bytes.toString('hex').toUpperCase()}>`
}

function pdfDate(isoDate: string): string {
  return `(D:${isoDate.replaceAll('-', '')}090000+08'00')`
}

/**
 * A minimal, valid one-page PDF 1.4. The xref table holds the byte offset of each object, so the file is built
 * as bytes and the offsets are taken from the running length rather than computed by hand.
 */
export function makePdf(options: {
  lines: string[]
  title: string
  subject: string
  author: string
  date: string
}): Buffer {
  const content = [
    'BT',
    '/F1 11 Tf',
    '16 TL',
    '56 780 Td',
    ...options.lines.flatMap((line) => [`${pdfLiteral(line)} Tj`, 'T*']),
    'ET',
  ].join('\n')
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
    `<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream`,
    `<< /Title ${pdfUtf16(options.title)} /Subject ${pdfUtf16(options.subject)} /Author ${pdfUtf16(options.author)} ` +
      `/Producer (court-file-gateway make-cases) /CreationDate ${pdfDate(options.date)} >>`,
  ]
  const chunks: Buffer[] = []
  let length = 0
  const push = (text: string) => {
    const chunk = Buffer.from(text, 'latin1')
    chunks.push(chunk)
    length += chunk.length
  }
  // The second line's high bytes tell transfer tools the file is binary (PDF 32000-1 §7.5.2).
  push('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n')
  const offsets: number[] = []
  objects.forEach((body, i) => {
    offsets.push(length)
    push(`${i + 1} 0 obj\n${body}\nendobj\n`)
  })
  const xrefAt = length
  // Each xref entry is exactly 20 bytes, hence the space before the newline.
  push(`xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`)
  for (const offset of offsets) push(`${String(offset).padStart(10, '0')} 00000 n \n`)
  push(`trailer\n<< /Size ${objects.length + 1} /Root 1 0 R /Info ${objects.length} 0 R >>\n`)
  push(`startxref\n${xrefAt}\n%%EOF`)
  return Buffer.concat(chunks)
}

export async function writeCases(outDir: string): Promise<string[]> {
  const written: string[] = []
  for (const spec of CASES) {
    const caseDir = path.join(outDir, spec.court, spec.folder)
    await mkdir(caseDir, { recursive: true })
    const volumes = []
    for (const volume of spec.volumes) {
      const documents = []
      for (const doc of volume.documents) {
        const file = `${doc.id}.pdf`
        const pdf = makePdf({
          title: doc.title,
          subject: spec.caseNo,
          author: spec.courtName,
          date: spec.filedOn,
          lines: [
            'SYNTHETIC TEST FILE - invented parties and contents, not a court record',
            '',
            `Court: ${spec.courtNameAscii}`,
            `Case folder: ${spec.folder}`,
            `Volume: ${volume.id} (${volume.kind})`,
            `Document: ${doc.id}`,
            '',
            ...doc.body,
          ],
        })
        await writeFile(path.join(caseDir, file), pdf)
        written.push(path.join(caseDir, file))
        documents.push({ id: doc.id, title: doc.title, file, pages: 1 })
      }
      volumes.push({ id: volume.id, kind: volume.kind, title: volume.title, documents })
    }
    const caseJson = {
      caseNo: spec.caseNo,
      court: spec.court,
      caseType: spec.caseType,
      title: spec.title,
      status: spec.status,
      filedOn: spec.filedOn,
      ...(spec.closedOn === undefined ? {} : { closedOn: spec.closedOn }),
      volumes,
    }
    await writeFile(path.join(caseDir, 'case.json'), `${JSON.stringify(caseJson, null, 2)}\n`)
    written.push(path.join(caseDir, 'case.json'))
  }
  return written
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = path.resolve(process.argv[2] ?? shippedCasesDir())
  const written = await writeCases(outDir)
  console.log(`wrote ${written.length} files under ${outDir}`)
}
