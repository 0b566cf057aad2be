// Package recommendations stands in for the recommendations service:
// "complete the look" suggestions. Its tests cover too little of it, on
// purpose: the demo's coverage gate holds this service back.
package recommendations

import "sort"

// Item is a product with the looks it belongs to.
type Item struct {
	SKU   string
	Looks []string
	Score float64
}

// CompleteTheLook suggests up to n items sharing a look with sku, best
// score first.
func CompleteTheLook(catalog []Item, sku string, n int) []Item {
	var looks map[string]bool
	for _, it := range catalog {
		if it.SKU == sku {
			looks = map[string]bool{}
			for _, l := range it.Looks {
				looks[l] = true
			}
		}
	}
	if looks == nil {
		return nil
	}
	var out []Item
	for _, it := range catalog {
		if it.SKU == sku {
			continue
		}
		for _, l := range it.Looks {
			if looks[l] {
				out = append(out, it)
				break
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// Blend mixes personal and trending scores; weight is the personal share.
func Blend(personal, trending map[string]float64, weight float64) map[string]float64 {
	if weight < 0 {
		weight = 0
	}
	if weight > 1 {
		weight = 1
	}
	out := map[string]float64{}
	for k, v := range personal {
		out[k] += weight * v
	}
	for k, v := range trending {
		out[k] += (1 - weight) * v
	}
	return out
}

// Diversify keeps at most perLook items of any one look.
func Diversify(items []Item, perLook int) []Item {
	seen := map[string]int{}
	var out []Item
	for _, it := range items {
		ok := true
		for _, l := range it.Looks {
			if seen[l] >= perLook {
				ok = false
			}
		}
		if !ok {
			continue
		}
		for _, l := range it.Looks {
			seen[l]++
		}
		out = append(out, it)
	}
	return out
}
