# A Locust master and an auto-scaling group of workers for agentload.
# 5557 (master <- workers) is open only to the workers' security group; 8089 (web UI) only to allowed_cidr.

resource "aws_security_group" "master" {
  name        = "${var.name}-master"
  description = "agentload Locust master"
  vpc_id      = var.vpc_id
}

resource "aws_security_group" "worker" {
  name        = "${var.name}-worker"
  description = "agentload Locust workers"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "master_from_workers" {
  security_group_id            = aws_security_group.master.id
  description                  = "Locust workers to master"
  ip_protocol                  = "tcp"
  from_port                    = 5557
  to_port                      = 5557
  referenced_security_group_id = aws_security_group.worker.id
}

resource "aws_vpc_security_group_ingress_rule" "web_ui" {
  security_group_id = aws_security_group.master.id
  description       = "Locust web UI"
  ip_protocol       = "tcp"
  from_port         = 8089
  to_port           = 8089
  cidr_ipv4         = var.allowed_cidr
}

resource "aws_vpc_security_group_egress_rule" "master_out" {
  security_group_id = aws_security_group.master.id
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "worker_out" {
  security_group_id = aws_security_group.worker.id
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_iam_role" "worker" {
  name = "${var.name}-worker"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "worker_reads_api_key" {
  count = var.api_key_ssm_parameter == "" ? 0 : 1
  name  = "${var.name}-read-api-key"
  role  = aws_iam_role.worker.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["ssm:GetParameter"]
      Resource = "arn:aws:ssm:${var.region}:*:parameter/${trimprefix(var.api_key_ssm_parameter, "/")}"
    }]
  })
}

resource "aws_iam_instance_profile" "worker" {
  name = "${var.name}-worker"
  role = aws_iam_role.worker.name
}

resource "aws_instance" "master" {
  ami                    = var.ami_id
  instance_type          = var.master_instance_type
  subnet_id              = var.subnet_ids[0]
  vpc_security_group_ids = [aws_security_group.master.id]
  key_name               = var.key_name
  user_data = templatefile("${path.module}/user_data/master.sh.tftpl", {
    repo_url    = var.repo_url
    repo_ref    = var.repo_ref
    locust_args = var.locust_args
  })

  tags = { Name = "${var.name}-master", "agentload:role" = "master" }
}

resource "aws_launch_template" "worker" {
  name_prefix            = "${var.name}-worker-"
  image_id               = var.ami_id
  instance_type          = var.worker_instance_type
  key_name               = var.key_name
  vpc_security_group_ids = [aws_security_group.worker.id]

  iam_instance_profile {
    name = aws_iam_instance_profile.worker.name
  }

  user_data = base64encode(templatefile("${path.module}/user_data/worker.sh.tftpl", {
    repo_url              = var.repo_url
    repo_ref              = var.repo_ref
    master_ip             = aws_instance.master.private_ip
    api_key_ssm_parameter = var.api_key_ssm_parameter
    region                = var.region
  }))

  tag_specifications {
    resource_type = "instance"
    tags          = { Name = "${var.name}-worker", "agentload:role" = "worker" }
  }
}

resource "aws_autoscaling_group" "workers" {
  name                = "${var.name}-workers"
  desired_capacity    = var.worker_count
  min_size            = 0
  max_size            = var.worker_max
  vpc_zone_identifier = var.subnet_ids

  launch_template {
    id      = aws_launch_template.worker.id
    version = "$Latest"
  }

  tag {
    key                 = "agentload:role"
    value               = "worker"
    propagate_at_launch = true
  }
}
