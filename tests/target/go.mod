module memstrain.dev/demo-target

go 1.19
