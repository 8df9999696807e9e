/**
 * The chatgpt answer every benchmark server sends: about 1 KB, the shape of a
 * real one (text, eight sources, markdown).
 */
export const chatgptAnswer = JSON.stringify({
  success: true,
  result: {
    text: "Acme Corp is a fictional company. ".repeat(20),
    sources: Array.from({ length: 8 }, (_, i) => ({
      position: i + 1,
      url: `https://example.com/${i}`,
      label: `Source ${i}`,
      description: "A source.",
      footnote: false
    })),
    markdown: "**Acme**"
  }
})
