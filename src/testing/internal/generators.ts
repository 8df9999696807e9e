/**
 * Plausible answers for every engine, shaped as cloro documents them
 * (cloro-api.md §5): text, sources and citation pills always; markdown, the
 * HTML link, search queries, shopping, ads, AI Overview and extra pages when
 * the request's flags ask for them. Every value comes from a `Prng` keyed by
 * the seed and the request, so answers are reproducible.
 *
 * @internal
 */
import * as Predicate from "effect/Predicate"
import * as Engine from "../../Engine.js"
import type { EngineName } from "./config.js"
import type { Prng } from "./prng.js"
import * as SchemaAnswer from "./schemaAnswer.js"

/** A JSON object as the simulator sends it. @internal */
export type Json = Record<string, unknown>

/** @internal */
export interface Generated {
  readonly result: Json
  /** AI Mode: product clusters returned for `expandProducts` (+1 credit each). */
  readonly productClusters: number
}

interface Site {
  readonly domain: string
  readonly name: string
}

const sites: readonly [Site, ...Array<Site>] = [
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

const titleTemplates: readonly [string, ...Array<string>] = [
  "The complete guide to {t}",
  "{T}: what experts recommend in 2026",
  "{T} explained",
  "10 things to know about {t}",
  "We compared the options for {t}",
  "{T} — a practical overview",
  "Is it worth it? An honest look at {t}",
  "How to choose: {t}"
]

const claims: readonly [string, ...Array<string>] = [
  "Reviewers consistently point to reliability and total cost as the deciding factors",
  "Most comparisons rank ease of use above raw feature count",
  "Recent coverage highlights a clear shift toward subscription pricing",
  "Independent tests found large differences in long-term value",
  "Community threads stress checking support quality before committing",
  "Analysts note that the market leader is not always the best fit for small teams",
  "Several guides recommend starting with a free tier to compare options",
  "Benchmarks published this year show the gap between the top options narrowing"
]

const brands: readonly [string, ...Array<string>] = [
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

const merchants: readonly [string, ...Array<string>] = [
  "Amazon",
  "Best Buy",
  "Walmart",
  "Target",
  "eBay",
  "Newegg",
  "Costco",
  "B&H Photo"
]

const read = (body: unknown, ...path: ReadonlyArray<string>): unknown =>
  path.reduce<unknown>((node, key) => (Predicate.isRecord(node) ? node[key] : undefined), body)

const isOn = (body: unknown, ...path: ReadonlyArray<string>): boolean => read(body, ...path) === true

const topicOf = (body: unknown): string => {
  const raw = read(body, "prompt") ?? read(body, "query") ?? queryFromUrl(read(body, "url")) ?? "your question"
  const text = String(raw).trim().replace(/\s+/g, " ").replace(/[?.!]+$/, "")
  return text.length > 80 ? `${text.slice(0, 77)}...` : text.length > 0 ? text : "your question"
}

const queryFromUrl = (u: unknown): string | undefined => {
  if (typeof u !== "string") return undefined
  try {
    return new URL(u).searchParams.get("q") ?? undefined
  } catch {
    return undefined
  }
}

const capitalise = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1)

const slug = (s: string): string =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 48) || "page"

const fill = (template: string, topic: string): string =>
  template.replace("{t}", topic.toLowerCase()).replace("{T}", capitalise(topic))

const htmlUrl = (prng: Prng, page = 1): string =>
  `https://cdn.cloro.dev/results/${prng.uuid("html")}/page-${page}.html`

/** Google ships a `/url` redirect next to every resolved link; goto resolves it back. @internal */
export const redirectLinkFor = (url: string, prng: Prng, label: string): string =>
  `https://www.google.com/url?q=${encodeURIComponent(url)}&sa=U&ved=2ah${prng.hex(`ved:${label}`, 22)}`

interface Cited {
  readonly position: number
  readonly url: string
  readonly label: string
  readonly description: string
  readonly site: Site
}

const makeSources = (prng: Prng, topic: string, min: number, max: number): Array<Cited> => {
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

interface Paragraph {
  readonly claim: string
  /** Indexes into the sources this statement cites. */
  readonly cites: ReadonlyArray<number>
}

const makeParagraphs = (prng: Prng, sources: ReadonlyArray<Cited>): Array<Paragraph> => {
  const count = Math.max(2, Math.min(5, sources.length))
  return Array.from({ length: count }, (_, i) => {
    const first = sources.length === 0 ? [] : [i % sources.length]
    const second = sources.length > 1 && prng.chance(`para.second.${i}`, 0.35) ? [(i + 1) % sources.length] : []
    return { claim: prng.pick(`para.claim.${i}`, claims), cites: [...first, ...second] }
  })
}

const answerText = (topic: string, paragraphs: ReadonlyArray<Paragraph>, sources: ReadonlyArray<Cited>): string =>
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

const answerMarkdown = (topic: string, paragraphs: ReadonlyArray<Paragraph>, sources: ReadonlyArray<Cited>): string =>
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

const pills = (
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

const basicSource = (s: Cited): Json => ({ position: s.position, url: s.url, label: s.label, description: s.description })

const searchQueries = (prng: Prng, topic: string): Array<string> =>
  prng
    .sample("queries", [`${topic}`, `${topic} 2026`, `best ${topic}`, `${topic} reviews`, `${topic} comparison`], 3)
    .map((q) => q.toLowerCase())

const rawResponse = (prng: Prng, text: string, model: string): Array<Json> => [
  { type: "resume_conversation_token", token: prng.hex("raw.token", 40), conversation_id: prng.uuid("raw.conv") },
  { type: "message_start", message: { id: `msg_${prng.hex("raw.msg", 24)}`, role: "assistant", model } },
  { type: "message_delta", delta: { content: [{ type: "output_text_delta", text_delta: text }] } },
  { type: "message_stop", reason: "end_turn" }
]

const money = (prng: Prng, label: string, min: number, max: number): number =>
  Math.round((min + prng.float(label) * (max - min)) * 100) / 100

const priceObject = (value: number): Json => ({ value, currency: "USD", raw: `$${value.toFixed(2)}` })

const productName = (prng: Prng, label: string, topic: string): string =>
  `${prng.pick(`${label}.brand`, brands)} ${capitalise(topic.split(" ").slice(-2).join(" "))} ${
    prng.pick(`${label}.model`, ["Pro", "Max", "Lite", "Plus", "One", "X"])
  }`

const isShoppingTopic = (topic: string): boolean =>
  /\b(best|buy|price|cheap|deal|vs|top|review|shoes|laptop|phone|headphones)\b/i.test(topic)

const isLocalTopic = (topic: string): boolean => /\b(near|restaurant|hotel|cafe|coffee|in [A-Z][a-z]+)\b/.test(topic)

interface Base {
  readonly topic: string
  readonly sources: ReadonlyArray<Cited>
  readonly paragraphs: ReadonlyArray<Paragraph>
  readonly text: string
  readonly extras: Json
}

/** Fields every AI engine shares: text, sources, markdown and html on request. */
const aiBase = (prng: Prng, body: unknown): Base => {
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
const basicAnswer = (base: Base): Json => ({
  text: base.text,
  sources: base.sources.map(basicSource),
  citationPills: pills(base.paragraphs, base.sources, 1),
  ...base.extras
})

const chatgpt = (prng: Prng, body: unknown): Generated => {
  const base = aiBase(prng, body)
  const { topic, sources } = base
  const legacy = isOn(body, "legacy")
  const shopping = isOn(body, "include", "shopping") && isShoppingTopic(topic)
  const products = shopping
    ? Array.from({ length: prng.int("shop.count", 2, 4) }, (_, i) => {
      const price = money(prng, `shop.price.${i}`, 20, 900)
      const merchant = prng.pick(`shop.merchant.${i}`, merchants)
      const url = `https://www.${slug(merchant)}.com/p/${prng.hex(`shop.url.${i}`, 10)}`
      return {
        title: productName(prng, `shop.name.${i}`, topic),
        position: i + 1,
        url,
        price: `$${price.toFixed(2)}`,
        merchant,
        image_urls: [`https://images.example.com/${prng.hex(`shop.img.${i}`, 12)}.jpg`],
        rating: Math.round((3.5 + prng.float(`shop.rating.${i}`) * 1.5) * 10) / 10,
        num_reviews: prng.int(`shop.reviews.${i}`, 10, 5000),
        id: prng.hex(`shop.id.${i}`, 16),
        offers: [
          {
            merchant_name: merchant,
            product_name: productName(prng, `shop.name.${i}`, topic),
            url,
            price: `$${price.toFixed(2)}`,
            available: true,
            checkoutable: false,
            price_details: { base: `$${price.toFixed(2)}`, total: `$${price.toFixed(2)}` }
          }
        ]
      }
    })
    : []
  const result: Json = {
    text: base.text,
    sources: sources.map((s, i) => ({
      ...basicSource(s),
      footnote: i >= 5,
      ...(prng.chance(`sources.dated.${i}`, 0.6)
        ? { datePublished: `${prng.pick(`sources.month.${i}`, ["January", "March", "May", "August", "October"])} ${prng.int(`sources.day.${i}`, 1, 28)}, 2026` }
        : {})
    })),
    ...base.extras,
    // ChatGPT numbers its pills from 0, unlike every other engine.
    citationPills: pills(base.paragraphs, sources, 0, () => ({ type: "searchResult" })),
    entities: prng.sample("entities", brands, prng.int("entities.count", 0, 3)).map((name) => ({ type: "brand", name })),
    ...(legacy ? { model: "gpt-5" } : {}),
    ...(isOn(body, "include", "rawResponse") ? { rawResponse: rawResponse(prng, base.text, legacy ? "gpt-5" : "auto") } : {}),
    ...(isOn(body, "include", "searchQueries")
      ? { searchQueries: searchQueries(prng, topic), mapSearchQueries: isLocalTopic(topic) ? [topic] : [] }
      : {}),
    ...(shopping
      ? {
        shoppingCards: [{ tags: ["shopping"], products }],
        inlineProducts: products.slice(0, 2).map((product) => ({ product, render_as: "inline" }))
      }
      : {}),
    ...(isOn(body, "include", "ads")
      ? {
        ads: [
          {
            brand: { name: prng.pick("ads.brand", brands), url: `https://www.${prng.hex("ads.domain", 6)}.com` },
            cards: [
              {
                title: `Try ${prng.pick("ads.brand", brands)} for ${topic}`,
                body: "Sponsored. Compare plans and start free today.",
                url: `https://www.${prng.hex("ads.domain", 6)}.com/landing`
              }
            ],
            visibility: "visible",
            adsResponseIndex: 0,
            rendered: true
          }
        ]
      }
      : {})
  }
  return { result, productClusters: 0 }
}

const mediaItem = (prng: Prng, label: string, topic: string, site: Site): Json => ({
  title: fill(prng.pick(`${label}.title`, titleTemplates), topic),
  url: `https://${site.domain}/watch/${prng.hex(`${label}.id`, 11)}`,
  thumbnail: `https://images.example.com/${prng.hex(`${label}.thumb`, 12)}.jpg`,
  medium: label.startsWith("video") ? "video" : "image",
  source: site.name,
  image_width: 1280,
  image_height: 720,
  thumbnail_width: 320,
  thumbnail_height: 180
})

const perplexity = (prng: Prng, body: unknown): Generated => {
  const base = aiBase(prng, body)
  const { topic } = base
  const result: Json = {
    ...basicAnswer(base),
    related_queries: searchQueries(prng.child("related"), topic).map((q) => `${q} for beginners`),
    videos: prng.chance("videos", 0.5) ? [mediaItem(prng, "video.0", topic, { domain: "www.youtube.com", name: "YouTube" })] : [],
    images: Array.from({ length: prng.int("images.count", 0, 3) }, (_, i) =>
      mediaItem(prng, `image.${i}`, topic, prng.pick(`image.site.${i}`, sites))),
    search_model_queries: searchQueries(prng, topic),
    ...(isShoppingTopic(topic)
      ? {
        shopping_cards: [
          {
            tags: ["shopping"],
            products: Array.from({ length: prng.int("shop.count", 1, 3) }, (_, i) => {
              const price = `$${money(prng, `shop.price.${i}`, 20, 900).toFixed(2)}`
              const merchant = prng.pick(`shop.merchant.${i}`, merchants)
              return {
                title: productName(prng, `shop.name.${i}`, topic),
                id: prng.hex(`shop.id.${i}`, 12),
                url: `https://www.${slug(merchant)}.com/p/${prng.hex(`shop.url.${i}`, 10)}`,
                price,
                merchant,
                available: true,
                imageUrls: [`https://images.example.com/${prng.hex(`shop.img.${i}`, 12)}.jpg`],
                numReviews: prng.int(`shop.reviews.${i}`, 0, 3000),
                offers: [],
                position: i + 1,
                rating: Math.round((3 + prng.float(`shop.rating.${i}`) * 2) * 10) / 10
              }
            })
          }
        ]
      }
      : {}),
    ...(isOn(body, "include", "rawResponse") ? { rawResponse: rawResponse(prng, base.text, "sonar") } : {})
  }
  return { result, productClusters: 0 }
}

const gemini = (prng: Prng, body: unknown): Generated => {
  const base = aiBase(prng, body)
  const { topic } = base
  const result: Json = {
    ...basicAnswer(base),
    ...(isLocalTopic(topic)
      ? {
        places: Array.from({ length: prng.int("places.count", 1, 3) }, (_, i) => ({
          index: i,
          title: `${prng.pick(`places.brand.${i}`, brands)} ${capitalise(topic.split(" ")[0] ?? "Place")}`,
          link: `https://www.google.com/travel/search?q=${prng.hex(`places.q.${i}`, 8)}`,
          rating: Math.round((3.5 + prng.float(`places.rating.${i}`) * 1.5) * 10) / 10,
          reviews: prng.int(`places.reviews.${i}`, 5, 3000)
        }))
      }
      : {}),
    ...(isShoppingTopic(topic)
      ? {
        shoppingCards: Array.from({ length: prng.int("shop.count", 1, 3) }, (_, i) => ({
          position: i + 1,
          title: productName(prng, `shop.name.${i}`, topic),
          productLink: `https://google.com/search?q=${prng.hex(`shop.q.${i}`, 8)}&ibp=oshop`,
          productId: String(prng.int(`shop.id.${i}`, 1_000_000_000, 9_999_999_999)),
          price: priceObject(money(prng, `shop.price.${i}`, 20, 900)),
          store: prng.pick(`shop.merchant.${i}`, merchants)
        }))
      }
      : {}),
    ...(isOn(body, "include", "rawResponse") ? { rawResponse: [[prng.hex("raw.frame", 32), base.text]] } : {})
  }
  return { result, productClusters: 0 }
}

const copilot = (prng: Prng, body: unknown): Generated => {
  const base = aiBase(prng, body)
  const { topic } = base
  const result: Json = {
    ...basicAnswer(base),
    searchQueries: searchQueries(prng, topic),
    ...(isShoppingTopic(topic)
      ? {
        shoppingCards: [
          {
            type: "shoppingProducts",
            layout: "Carousel",
            products: Array.from({ length: prng.int("shop.count", 1, 3) }, (_, i) => ({
              product: { id: prng.hex(`shop.id.${i}`, 12), groupId: prng.hex(`shop.group.${i}`, 12) },
              position: i + 1,
              offerId: prng.hex(`shop.offer.${i}`, 12),
              url: `https://www.bing.com/shop?p=${prng.hex(`shop.url.${i}`, 10)}`,
              name: productName(prng, `shop.name.${i}`, topic),
              description: `A popular choice for ${topic}.`,
              images: [{ title: "Front", url: `https://images.example.com/${prng.hex(`shop.img.${i}`, 12)}.jpg` }],
              specifications: [],
              tags: [],
              price: { amount: money(prng, `shop.price.${i}`, 20, 900), currency: "USD", currencySymbol: "$" },
              discountPrice: null,
              seller: prng.pick(`shop.merchant.${i}`, merchants),
              sellerLogoUrl: "https://images.example.com/seller.png",
              brandName: prng.pick(`shop.name.${i}.brand`, brands),
              rating: { value: Math.round((3 + prng.float(`shop.rating.${i}`) * 2) * 10) / 10, count: prng.int(`shop.reviews.${i}`, 0, 3000) },
              canTrackPrice: true
            }))
          }
        ]
      }
      : {}),
    ...(isOn(body, "include", "rawResponse") ? { rawResponse: rawResponse(prng, base.text, "copilot") } : {})
  }
  return { result, productClusters: 0 }
}

const grok = (prng: Prng, body: unknown): Generated => {
  const base = aiBase(prng, body)
  const { topic, sources } = base
  const result: Json = {
    text: base.text,
    sources: sources.map((s, i) => ({
      ...basicSource(s),
      preview: s.description,
      searchEngineText: s.label,
      siteName: s.site.name,
      metadataTitle: s.label,
      ...(prng.chance(`sources.creator.${i}`, 0.5) ? { creator: "Staff writer" } : {}),
      favicon: `https://${s.site.domain}/favicon.ico`
    })),
    searchQueries: searchQueries(prng, topic),
    model: "grok-4-auto",
    ...base.extras,
    ...(isOn(body, "include", "rawResponse") ? { rawResponse: rawResponse(prng, base.text, "grok-4-auto") } : {})
  }
  return { result, productClusters: 0 }
}

const googlePlace = (prng: Prng, label: string, topic: string, index: number): Json => ({
  title: `${prng.pick(`${label}.brand`, brands)} ${capitalise(topic.split(" ")[0] ?? "Place")}`,
  index,
  rating: Math.round((3.5 + prng.float(`${label}.rating`) * 1.5) * 10) / 10,
  reviews: prng.int(`${label}.reviews`, 5, 3000),
  type: "Store",
  address: `${prng.int(`${label}.number`, 1, 999)} Main St`,
  placeId: `0x${prng.hex(`${label}.place`, 16)}`,
  link: `https://www.google.com/maps/place/?q=place_id:${prng.hex(`${label}.place`, 16)}`,
  gpsCoordinates: {
    latitude: Math.round((40 + prng.float(`${label}.lat`)) * 1e6) / 1e6,
    longitude: Math.round((-74 + prng.float(`${label}.lng`)) * 1e6) / 1e6
  }
})

const aimode = (prng: Prng, body: unknown): Generated => {
  const base = aiBase(prng, body)
  const { topic, sources } = base
  const withRedirect = (url: string, label: string) => ({ redirectLink: redirectLinkFor(url, prng, label) })
  const shopping = isShoppingTopic(topic)
  const clusters = shopping && isOn(body, "include", "expandProducts") ? prng.int("clusters", 1, 6) : 0
  const result: Json = {
    text: base.text,
    sources: sources.map((s) => ({ ...basicSource(s), ...withRedirect(s.url, `src.${s.position}`) })),
    citationPills: pills(base.paragraphs, sources, 1, (s) => withRedirect(s.url, `pill.${s.position}`)),
    ...base.extras,
    ...(isLocalTopic(topic)
      ? { places: [googlePlace(prng, "place.0", topic, 0)], map: [googlePlace(prng, "map.0", topic, 0)] }
      : {}),
    ...(shopping
      ? {
        shoppingCards: Array.from({ length: prng.int("shop.count", 2, 4) }, (_, i) => ({
          title: productName(prng, `shop.name.${i}`, topic),
          price: priceObject(money(prng, `shop.price.${i}`, 20, 900)),
          store: prng.pick(`shop.merchant.${i}`, merchants),
          rating: Math.round((3.5 + prng.float(`shop.rating.${i}`) * 1.5) * 10) / 10,
          reviews: String(prng.int(`shop.reviews.${i}`, 5, 9000)),
          productLink: `https://www.google.com/search?ibp=oshop&q=${prng.hex(`shop.q.${i}`, 8)}`,
          snippet: `Popular for ${topic}`,
          snippetLinks: [],
          position: i + 1
        })),
        inlineProducts: Array.from({ length: prng.int("inline.count", 1, 3) }, (_, i) => ({
          title: productName(prng, `inline.name.${i}`, topic),
          position: i + 1,
          price: priceObject(money(prng, `inline.price.${i}`, 20, 900)),
          store: prng.pick(`inline.merchant.${i}`, merchants),
          productLink: `https://www.google.com/search?ibp=oshop&q=${prng.hex(`inline.q.${i}`, 8)}`
        })),
        ads: {
          title: "Sponsored products",
          ads: [
            {
              title: productName(prng, "ads.name", topic),
              url: `https://www.${slug(prng.pick("ads.merchant", merchants))}.com/p/${prng.hex("ads.url", 8)}`,
              position: 1,
              price: priceObject(money(prng, "ads.price", 20, 900)),
              store: prng.pick("ads.merchant", merchants)
            }
          ]
        }
      }
      : {}),
    videos: prng.chance("videos", 0.4)
      ? [{ title: fill(prng.pick("video.title", titleTemplates), topic), link: `https://www.youtube.com/watch?v=${prng.hex("video.id", 11)}`, platform: "YouTube" }]
      : [],
    ...(clusters > 0
      ? {
        productResults: Array.from({ length: clusters }, (_, i) => ({
          title: productName(prng, `cluster.${i}`, topic),
          stores: prng.sample(`cluster.${i}.stores`, merchants, prng.int(`cluster.${i}.count`, 1, 3)).map((name, j) => ({
            name,
            link: `https://www.${slug(name)}.com/p/${prng.hex(`cluster.${i}.${j}`, 8)}`,
            price: priceObject(money(prng, `cluster.${i}.${j}.price`, 20, 900))
          })),
          images: [{ mainUrl: `https://images.example.com/${prng.hex(`cluster.${i}.img`, 12)}.jpg` }]
        }))
      }
      : {})
  }
  return { result, productClusters: clusters }
}

const pagesOf = (body: unknown): number => {
  const pages = read(body, "pages")
  return typeof pages === "number" && Number.isInteger(pages) && pages >= 1 ? Math.min(pages, 10) : 1
}

const google = (prng: Prng, body: unknown): Generated => {
  const topic = topicOf(body)
  const pages = pagesOf(body)
  const perPage = 10
  const organicResults = Array.from({ length: pages * perPage }, (_, i) => {
    const site = prng.pick(`organic.site.${i}`, sites)
    const link = `https://${site.domain}/${slug(topic)}-${prng.hex(`organic.path.${i}`, 6)}`
    return {
      position: i + 1,
      title: fill(prng.pick(`organic.title.${i}`, titleTemplates), topic),
      link,
      displayedLink: `https://${site.domain} › ${slug(topic)}`,
      snippet: `${prng.pick(`organic.claim.${i}`, claims)}.`,
      page: Math.floor(i / perPage) + 1,
      redirectLink: redirectLinkFor(link, prng, `organic.${i}`)
    }
  })
  const aioverviewFlag = read(body, "include", "aioverview")
  const wantsAio = aioverviewFlag === true || Predicate.isRecord(aioverviewFlag)
  const aioverview = (): Json => {
    const aio = prng.child("aioverview")
    const sources = makeSources(aio, topic, 3, 6)
    const paragraphs = makeParagraphs(aio, sources)
    const redirect = (s: Cited) => ({ redirectLink: redirectLinkFor(s.url, aio, `aio.${s.position}`) })
    return {
      text: answerText(topic, paragraphs, sources),
      ...(isOn(body, "include", "aioverview", "markdown") ? { markdown: answerMarkdown(topic, paragraphs, sources) } : {}),
      sources: sources.map((s) => ({ ...basicSource(s), ...redirect(s) })),
      citationPills: pills(paragraphs, sources, 1, redirect),
      videos: []
    }
  }
  const result: Json = {
    organicResults,
    peopleAlsoAsk: Array.from({ length: prng.int("paa.count", 2, 4) }, (_, i) => {
      const site = prng.pick(`paa.site.${i}`, sites)
      const link = `https://${site.domain}/${slug(topic)}-faq-${i + 1}`
      const hydrated = i === 0 && isOn(body, "include", "paaAioverview")
      return {
        question: prng.pick(`paa.q.${i}`, [
          `What is the best ${topic.toLowerCase()}?`,
          `How much does ${topic.toLowerCase()} cost?`,
          `Is ${topic.toLowerCase()} worth it?`,
          `How do I choose ${topic.toLowerCase()}?`
        ]),
        type: hydrated ? "AIOVERVIEW" : "LINK",
        snippet: `${prng.pick(`paa.claim.${i}`, claims)}.`,
        ...(hydrated
          ? {
            markdown: `**${capitalise(topic)}**: ${prng.pick(`paa.md.${i}`, claims).toLowerCase()}.`,
            sources: [{ label: site.name, url: link, description: `${site.name} on ${topic}`, position: 1 }]
          }
          : {}),
        title: fill(prng.pick(`paa.title.${i}`, titleTemplates), topic),
        link,
        redirectLink: redirectLinkFor(link, prng, `paa.${i}`)
      }
    }),
    relatedSearches: searchQueries(prng.child("related"), topic).map((query) => ({
      query,
      link: `https://www.google.com/search?q=${encodeURIComponent(query)}`
    })),
    ads: prng.chance("ads", 0.5)
      ? [
        {
          position: 1,
          blockPosition: "top",
          type: "RESULT",
          title: `${prng.pick("ads.brand", brands)} — ${capitalise(topic)}`,
          url: `https://www.${prng.hex("ads.domain", 6)}.com/landing`,
          page: 1,
          displayedUrl: `www.${prng.hex("ads.domain", 6)}.com`,
          domain: `www.${prng.hex("ads.domain", 6)}.com`,
          description: "Sponsored. Compare plans and start free today.",
          sitelinks: []
        }
      ]
      : [],
    ...(wantsAio ? { aioverview: aioverview() } : {}),
    ...(isShoppingTopic(topic)
      ? {
        shoppingCards: Array.from({ length: prng.int("shop.count", 1, 4) }, (_, i) => ({
          title: productName(prng, `shop.name.${i}`, topic),
          position: i + 1,
          price: priceObject(money(prng, `shop.price.${i}`, 20, 900)),
          store: prng.pick(`shop.merchant.${i}`, merchants)
        }))
      }
      : {}),
    ...(isOn(body, "include", "html") ? { html: Array.from({ length: pages }, (_, i) => htmlUrl(prng, i + 1)) } : {})
  }
  return { result, productClusters: 0 }
}

const googleNews = (prng: Prng, body: unknown): Generated => {
  const topic = topicOf(body)
  const pages = pagesOf(body)
  const result: Json = {
    newsResults: Array.from({ length: pages * 10 }, (_, i) => {
      const site = prng.pick(`news.site.${i}`, sites)
      const link = `https://${site.domain}/news/${slug(topic)}-${prng.hex(`news.path.${i}`, 6)}`
      return {
        position: i + 1,
        title: fill(prng.pick(`news.title.${i}`, titleTemplates), topic),
        link,
        snippet: `${prng.pick(`news.claim.${i}`, claims)}.`,
        source: site.name,
        date: `${prng.int(`news.hours.${i}`, 1, 23)} hours ago`,
        page: Math.floor(i / 10) + 1,
        redirectLink: redirectLinkFor(link, prng, `news.${i}`)
      }
    }),
    ...(isOn(body, "include", "html") ? { html: Array.from({ length: pages }, (_, i) => htmlUrl(prng, i + 1)) } : {})
  }
  return { result, productClusters: 0 }
}

/**
 * An answer for a validated request body of the engine.
 *
 * @internal
 */
export const generate = <N extends EngineName>(engine: N, prng: Prng, body: unknown): Generated =>
  generators[engine]?.(prng, body) ??
    { result: SchemaAnswer.fromSchema(Engine.engines[engine].result, prng) ?? {}, productClusters: 0 }

/** Hand-written answers; an engine without one is answered from its result schema (`schemaAnswer.ts`). */
const generators: { readonly [N in EngineName]?: (prng: Prng, body: unknown) => Generated } = {
  chatgpt,
  perplexity,
  gemini,
  copilot,
  grok,
  aimode,
  google,
  googleNews
}

/**
 * Where a Google `/goto` or `/url` link points: its `url` or `q` parameter,
 * or, for a link the simulator did not mint, a stable made-up destination.
 *
 * @internal
 */
export const resolveRedirect = (link: URL, prng: Prng): string => {
  const target = link.searchParams.get("url") ?? link.searchParams.get("q")
  if (target !== null && /^https?:\/\//.test(target)) return target
  const site = prng.pick("goto.site", sites)
  return `https://${site.domain}/${prng.hex("goto.path", 10)}`
}
