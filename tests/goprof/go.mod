module memstrain.dev/goprof

go 1.19
