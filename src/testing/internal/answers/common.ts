/**
 * The building blocks every engine's answer is made of: the made-up sites,
 * brands and merchants, the topic read from a request, cited sources,
 * paragraphs, text and markdown with citation pills, prices and the fields
 * the AI assistants share.
 *
 * @internal
 */
import * as Predicate from "effect/Predicate"
import type { Json } from "../generators.js"
import type { Prng } from "../prng.js"

export interface Site {
  readonly domain: string
  readonly name: string
}

export const sites: readonly [Site, ...Array<Site>] = [
  { domain: "en.wikipedia.org", name: "Wikipedia" },
  { domain: "www.nytimes.com", name: "The New York Times" },
  { domain: "www.theverge.com", name: "The Verge" },
  { domain: "techcrunch.com", name: "TechCrunch" },
  { domain: "www.reddit.com", name: "Reddit" },
  { domain: "www.forbes.com", name: "Forbes" },
  { domain: "www.g2.com", name: "G2" },
  { domain: "www.capterra.com", name: "Capterra" },
  { domain: "medium.com", name: "Medium" },
  { domain: "www.youtube.com", name: "YouTube" },
  { domain: "www.bbc.com", name: "BBC" },
  { domain: "www.investopedia.com", name: "Investopedia" },
  { domain: "www.cnet.com", name: "CNET" },
  { domain: "www.pcmag.com", name: "PCMag" },
  { domain: "www.wired.com", name: "WIRED" },
  { domain: "stackoverflow.com", name: "Stack Overflow" },
  { domain: "github.com", name: "GitHub" },
  { domain: "www.tripadvisor.com", name: "Tripadvisor" },
  { domain: "www.nerdwallet.com", name: "NerdWallet" },
  { domain: "www.consumerreports.org", name: "Consumer Reports" }
]

export const titleTemplates: readonly [string, ...Array<string>] = [
  "The complete guide to {t}",
  "{T}: what experts recommend in 2026",
  "{T} explained",
  "10 things to know about {t}",
  "We compared the options for {t}",
  "{T} — a practical overview",
  "Is it worth it? An honest look at {t}",
  "How to choose: {t}"
]

export const claims: readonly [string, ...Array<string>] = [
  "Reviewers consistently point to reliability and total cost as the deciding factors",
  "Most comparisons rank ease of use above raw feature count",
  "Recent coverage highlights a clear shift toward subscription pricing",
  "Independent tests found large differences in long-term value",
  "Community threads stress checking support quality before committing",
  "Analysts note that the market leader is not always the best fit for small teams",
  "Several guides recommend starting with a free tier to compare options",
  "Benchmarks published this year show the gap between the top options narrowing"
]

export const brands: readonly [string, ...Array<string>] = [
  "Acme",
  "Northwind",
  "Globex",
  "Initech",
  "Umbrella",
  "Stark",
  "Wayne",
  "Hooli",
  "Vandelay",
  "Soylent"
]

export const merchants: readonly [string, ...Array<string>] = [
  "Amazon",
  "Best Buy",
  "Walmart",
  "Target",
  "eBay",
  "Newegg",
  "Costco",
  "B&H Photo"
]

export const read = (body: unknown, ...path: ReadonlyArray<string>): unknown =>
  path.reduce<unknown>((node, key) => (Predicate.isRecord(node) ? node[key] : undefined), body)

export const isOn = (body: unknown, ...path: ReadonlyArray<string>): boolean => read(body, ...path) === true

export const topicOf = (body: unknown): string => {
  const raw = read(body, "prompt") ?? read(body, "query") ?? queryFromUrl(read(body, "url")) ?? "your question"
  const text = String(raw).trim().replace(/\s+/g, " ").replace(/[?.!]+$/, "")
  return text.length > 80 ? `${text.slice(0, 77)}...` : text.length > 0 ? text : "your question"
}

export const queryFromUrl = (u: unknown): string | undefined => {
  if (typeof u !== "string") return undefined
  try {
    return new URL(u).searchParams.get("q") ?? undefined
  } catch {
    return undefined
  }
}

export const capitalise = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1)

export const slug = (s: string): string =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 48) || "page"

export const fill = (template: string, topic: string): string =>
  template.replace("{t}", topic.toLowerCase()).replace("{T}", capitalise(topic))

export const htmlUrl = (prng: Prng, page = 1): string =>
  `https://cdn.cloro.dev/results/${prng.uuid("html")}/page-${page}.html`

/** Google ships a `/url` redirect next to every resolved link; goto resolves it back. @internal */
export const redirectLinkFor = (url: string, prng: Prng, label: string): string =>
  `https://www.google.com/url?q=${encodeURIComponent(url)}&sa=U&ved=2ah${prng.hex(`ved:${label}`, 22)}`

export interface Cited {
  readonly position: number
  readonly url: string
  readonly label: string
  readonly description: string
  readonly site: Site
}

export const makeSources = (prng: Prng, topic: string, min: number, max: number): Array<Cited> => {
  const count = prng.int("sources.count", min, max)
  return prng.sample("sources.sites", sites, count).map((site, i) => {
    const label = fill(prng.pick(`sources.title.${i}`, titleTemplates), topic)
    return {
      position: i + 1,
      url: `https://${site.domain}/${slug(topic)}-${prng.hex(`sources.path.${i}`, 6)}`,
      label,
      description: `${prng.pick(`sources.claim.${i}`, claims)} (${site.name}).`,
      site
    }
  })
}

export interface Paragraph {
  readonly claim: string
  /** Indexes into the sources this statement cites. */
  readonly cites: ReadonlyArray<number>
}

export const makeParagraphs = (prng: Prng, sources: ReadonlyArray<Cited>): Array<Paragraph> => {
  const count = Math.max(2, Math.min(5, sources.length))
  return Array.from({ length: count }, (_, i) => {
    const first = sources.length === 0 ? [] : [i % sources.length]
    const second = sources.length > 1 && prng.chance(`para.second.${i}`, 0.35) ? [(i + 1) % sources.length] : []
    return { claim: prng.pick(`para.claim.${i}`, claims), cites: [...first, ...second] }
  })
}

export const answerText = (topic: string, paragraphs: ReadonlyArray<Paragraph>, sources: ReadonlyArray<Cited>): string =>
  [
    `Here is an overview of ${topic}.`,
    "",
    ...paragraphs.map((p) => {
      const names = p.cites.map((c) => sources[c]?.site.name).filter(Predicate.isNotUndefined)
      return `- ${p.claim}${names.length > 0 ? ` (${names.join(", ")})` : ""}.`
    }),
    "",
    `In short, the best choice for ${topic} depends on your budget and how you plan to use it.`
  ].join("\n")

export const answerMarkdown = (topic: string, paragraphs: ReadonlyArray<Paragraph>, sources: ReadonlyArray<Cited>): string =>
  [
    `## ${capitalise(topic)}`,
    "",
    `Here is an overview of **${topic}**.`,
    "",
    ...paragraphs.map(
      (p) =>
        `- ${p.claim}${
          p.cites
            .map((c) => sources[c])
            .filter(Predicate.isNotUndefined)
            .map((s) => ` ([${s.site.name}](${s.url}))`)
            .join("")
        }.`
    ),
    "",
    `In short, the best choice for ${topic} depends on your budget and how you plan to use it.`
  ].join("\n")

export const pills = (
  paragraphs: ReadonlyArray<Paragraph>,
  sources: ReadonlyArray<Cited>,
  firstId: number,
  extra: (source: Cited) => Json = () => ({})
): Array<Json> =>
  paragraphs.flatMap((p, i) =>
    p.cites
      .map((c) => sources[c])
      .filter(Predicate.isNotUndefined)
      .map((s) => ({
        label: s.label,
        citationPillId: i + firstId,
        url: s.url,
        domain: s.site.domain,
        description: s.description,
        position: s.position,
        ...extra(s)
      }))
  )

export const basicSource = (s: Cited): Json => ({ position: s.position, url: s.url, label: s.label, description: s.description })

export const searchQueries = (prng: Prng, topic: string): Array<string> =>
  prng
    .sample("queries", [`${topic}`, `${topic} 2026`, `best ${topic}`, `${topic} reviews`, `${topic} comparison`], 3)
    .map((q) => q.toLowerCase())

export const rawResponse = (prng: Prng, text: string, model: string): Array<Json> => [
  { type: "resume_conversation_token", token: prng.hex("raw.token", 40), conversation_id: prng.uuid("raw.conv") },
  { type: "message_start", message: { id: `msg_${prng.hex("raw.msg", 24)}`, role: "assistant", model } },
  { type: "message_delta", delta: { content: [{ type: "output_text_delta", text_delta: text }] } },
  { type: "message_stop", reason: "end_turn" }
]

export const money = (prng: Prng, label: string, min: number, max: number): number =>
  Math.round((min + prng.float(label) * (max - min)) * 100) / 100

export const priceObject = (value: number): Json => ({ value, currency: "USD", raw: `$${value.toFixed(2)}` })

export const productName = (prng: Prng, label: string, topic: string): string =>
  `${prng.pick(`${label}.brand`, brands)} ${capitalise(topic.split(" ").slice(-2).join(" "))} ${
    prng.pick(`${label}.model`, ["Pro", "Max", "Lite", "Plus", "One", "X"])
  }`

export const isShoppingTopic = (topic: string): boolean =>
  /\b(best|buy|price|cheap|deal|vs|top|review|shoes|laptop|phone|headphones)\b/i.test(topic)

export const isLocalTopic = (topic: string): boolean => /\b(near|restaurant|hotel|cafe|coffee|in [A-Z][a-z]+)\b/.test(topic)

export interface Base {
  readonly topic: string
  readonly sources: ReadonlyArray<Cited>
  readonly paragraphs: ReadonlyArray<Paragraph>
  readonly text: string
  readonly extras: Json
}

/** Fields every AI engine shares: text, sources, markdown and html on request. */
export const aiBase = (prng: Prng, body: unknown): Base => {
  const topic = topicOf(body)
  const sources = makeSources(prng, topic, 3, 8)
  const paragraphs = makeParagraphs(prng, sources)
  const text = answerText(topic, paragraphs, sources)
  return {
    topic,
    sources,
    paragraphs,
    text,
    extras: {
      ...(isOn(body, "include", "markdown") ? { markdown: answerMarkdown(topic, paragraphs, sources) } : {}),
      ...(isOn(body, "include", "html") ? { html: htmlUrl(prng) } : {})
    }
  }
}

/** The head of a Perplexity, Gemini or Copilot answer: basic sources and 1-based citation pills. */
export const basicAnswer = (base: Base): Json => ({
  text: base.text,
  sources: base.sources.map(basicSource),
  citationPills: pills(base.paragraphs, base.sources, 1),
  ...base.extras
})

