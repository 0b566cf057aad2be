// Package e2e is the demo's cross-team end-to-end suite (the integration
// gate): browse, basket, checkout and refund, across the stand-in services.
package e2e

import (
	"strings"
	"testing"

	"lumen-retail.example/services/cart"
	"lumen-retail.example/services/checkout"
	"lumen-retail.example/services/fraud"
	"lumen-retail.example/services/payments"
	"lumen-retail.example/services/recommendations"
	"lumen-retail.example/services/refunds"
	"lumen-retail.example/services/reviews"
	"lumen-retail.example/services/storefront"
)

func TestBrowse(t *testing.T) {
	var b strings.Builder
	if err := storefront.Render(&b, storefront.Product{Title: "Coat", Price: "€120"}, true); err != nil {
		t.Fatal(err)
	}
	if avg := reviews.Average([]reviews.Review{{Stars: 4}}); avg != 4 {
		t.Errorf("average %v", avg)
	}
	looks := recommendations.CompleteTheLook([]recommendations.Item{{SKU: "a", Looks: []string{"x"}}, {SKU: "b", Looks: []string{"x"}}}, "a", 3)
	if len(looks) != 1 {
		t.Errorf("looks %v", looks)
	}
}

func TestBasket(t *testing.T) {
	if got := cart.Total(cart.Merge([]cart.Line{{SKU: "a", Qty: 1, PriceCents: 100}}, []cart.Line{{SKU: "a", Qty: 1}})); got != 200 {
		t.Errorf("total %d", got)
	}
}

func TestCheckout(t *testing.T) {
	p := fraud.Payment{AmountCents: 60000, NewDevice: true, CountryMatch: true}
	step, err := checkout.Next(checkout.Payment, fraud.Challenge(p))
	if err != nil || step != checkout.Challenge {
		t.Fatalf("step %s, %v", step, err)
	}
	var l payments.Ledger
	if _, err := l.Authorise("order-1", p.AmountCents); err != nil {
		t.Fatal(err)
	}
}

func TestRefund(t *testing.T) {
	if err := refunds.Refund(60000, nil, 60000); err != nil {
		t.Error(err)
	}
}
