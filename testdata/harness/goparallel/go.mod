module example.com/goparallel

go 1.22
