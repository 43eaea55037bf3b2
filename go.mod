module github.com/gonginx/gonginx

go 1.26.8
