/**
 * Google's answers: AI Mode (places, shopping and product clusters), Search
 * (organic results over pages, ads, AI Overview, people also ask) and News.
 *
 * @internal
 */
import * as Predicate from "effect/Predicate"
import type { Generated, Json } from "../generators.js"
import type { Prng } from "../prng.js"
import {
  aiBase,
  answerMarkdown,
  answerText,
  basicSource,
  brands,
  capitalise,
  type Cited,
  claims,
  fill,
  htmlUrl,
  isLocalTopic,
  isOn,
  isShoppingTopic,
  makeParagraphs,
  makeSources,
  merchants,
  money,
  pills,
  priceObject,
  productName,
  read,
  redirectLinkFor,
  searchQueries,
  sites,
  slug,
  titleTemplates,
  topicOf
} from "./common.js"

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

/** @internal */
export const aimode = (prng: Prng, body: unknown): Generated => {
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

/** @internal */
export const google = (prng: Prng, body: unknown): Generated => {
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

/** @internal */
export const googleNews = (prng: Prng, body: unknown): Generated => {
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

