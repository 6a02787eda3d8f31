package main

import "testing"

func TestEndpointURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:17085": "http://127.0.0.1:17085/",
		"arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2",
		"https://shop.example.com": "https://shop.example.com",
	} {
		if got := endpointURL(addr); got != want {
			t.Errorf("endpointURL(%q) = %q, want %q", addr, got, want)
		}
	}
}
