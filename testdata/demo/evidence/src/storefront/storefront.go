// Package storefront stands in for the web shop: product page rendering
// behind the new-product-page toggle.
package storefront

import (
	"html/template"
	"io"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Price formats cents for a shopper's language ("€1,234.50", "1.234,50").
func Price(lang string, cents int64) string {
	tag, err := language.Parse(lang)
	if err != nil {
		tag = language.BritishEnglish
	}
	return message.NewPrinter(tag).Sprintf("%.2f", float64(cents)/100)
}

var (
	oldPage = template.Must(template.New("old").Parse(`<h1>{{.Title}}</h1><p>{{.Price}}</p>`))
	newPage = template.Must(template.New("new").Parse(`<main><h1>{{.Title}}</h1><p class="price">{{.Price}}</p>{{range .Photos}}<img src="{{.}}">{{end}}</main>`))
)

// Product is what a product page shows.
type Product struct {
	Title  string
	Price  string
	Photos []string
}

// Render writes the product page, the new one when the toggle is on.
func Render(w io.Writer, p Product, newProductPage bool) error {
	if newProductPage {
		return newPage.Execute(w, p)
	}
	return oldPage.Execute(w, p)
}
