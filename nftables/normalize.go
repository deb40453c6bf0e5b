package nftables

import (
	"regexp"
	"sort"
	"strings"
)

var (
	reHandle   = regexp.MustCompile(`\s*# handle \d+`)
	reCounter  = regexp.MustCompile(`counter packets \d+ bytes \d+`)
	reExpires  = regexp.MustCompile(` expires [0-9dhms]+`)
	reElements = regexp.MustCompile(`(?s)elements = \{(.*?)\}`)
)

// Normalize makes `nft list` output (or a Print script) comparable: it drops
// the `table X` + `delete table X` preamble, handles, counter figures, element
// expiry times and blank lines, trims indentation, puts each set's elements
// in sorted order, and sorts each table's sets and chains by name.
func Normalize(text string) string {
	text = reHandle.ReplaceAllString(text, "")
	text = reCounter.ReplaceAllString(text, "counter")
	text = reExpires.ReplaceAllString(text, "")
	text = reElements.ReplaceAllStringFunc(text, func(m string) string {
		body := reElements.FindStringSubmatch(m)[1]
		items := splitTopLevel(body)
		sort.Strings(items)
		return "elements = { " + strings.Join(items, ", ") + " }"
	})
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "delete table ") || (strings.HasPrefix(l, "table ") && !strings.HasSuffix(l, "{")) {
			continue
		}
		lines = append(lines, l)
	}
	return strings.Join(sortBlocks(lines), "\n") + "\n"
}

// splitTopLevel splits on commas outside quotes and trims each item.
func splitTopLevel(s string) []string {
	var out []string
	var cur strings.Builder
	inQuote := false
	for _, r := range s {
		switch {
		case r == '"':
			inQuote = !inQuote
		case r == ',' && !inQuote:
			out = append(out, strings.Join(strings.Fields(cur.String()), " "))
			cur.Reset()
			continue
		}
		cur.WriteRune(r)
	}
	if t := strings.Join(strings.Fields(cur.String()), " "); t != "" {
		out = append(out, t)
	}
	return out
}

// sortBlocks sorts the set/map/chain blocks inside each table by their header.
func sortBlocks(lines []string) []string {
	var out []string
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "table ") {
			out = append(out, lines[i])
			continue
		}
		out = append(out, lines[i])
		var blocks [][]string
		var head []string // table-level lines such as comment
		j := i + 1
		for ; j < len(lines) && lines[j] != "}"; j++ {
			if !strings.HasSuffix(lines[j], "{") {
				head = append(head, lines[j])
				continue
			}
			k := j
			for k < len(lines) && lines[k] != "}" {
				k++
			}
			blocks = append(blocks, lines[j:min(k+1, len(lines))])
			j = k
		}
		sort.SliceStable(blocks, func(a, b int) bool { return blocks[a][0] < blocks[b][0] })
		out = append(out, head...)
		for _, b := range blocks {
			out = append(out, b...)
		}
		if j < len(lines) {
			out = append(out, lines[j])
		}
		i = j
	}
	return out
}
