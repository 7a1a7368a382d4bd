package qconnect

import (
	"strings"
	"unicode/utf8"
)

// Closest returns the candidate most like name, for "did you mean"
// suggestions, and whether one is close enough to suggest. Closeness is the
// edit distance ignoring case (Levenshtein over runes, an adjacent
// transposition being one edit); a candidate is close enough when the
// distance is at most a third of the longer name's length, at least 1 and
// at most 3 edits. So names differing only in case ("getmem" for "getMem") are always
// suggested. A candidate equal to name is not. Ties go to the candidate
// listed first, so the result is deterministic for a given order.
func Closest(name string, candidates []string) (string, bool) {
	best, bestD := "", -1
	ln := strings.ToLower(name)
	for _, c := range candidates {
		if c == name {
			continue
		}
		lc := strings.ToLower(c)
		d := editDistance(ln, lc)
		limit := max(utf8.RuneCountInString(name), utf8.RuneCountInString(c)) / 3
		if d > min(max(limit, 1), 3) {
			continue
		}
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	return best, bestD >= 0
}

// editDistance is the Levenshtein distance of a and b in runes, with an
// adjacent transposition counting as one edit (optimal string alignment).
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 256 || len(rb) > 256 { // bounded work for hostile input
		return max(len(ra), len(rb))
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
