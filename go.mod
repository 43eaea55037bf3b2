module github.com/gonginx/gonginx

go 1.26.8

require (
	github.com/dlclark/regexp2/v2 v2.13.0
	github.com/google/go-cmp v0.7.0
)

require golang.org/x/crypto v0.59.0

require github.com/klauspost/compress v1.20.5

require (
	golang.org/x/net v0.63.0
	golang.org/x/text v0.44.0 // indirect
)
