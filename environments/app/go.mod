module example.com/phoenix-demo-app

go 1.22
