# `terraform test` for the fleet module, with the AWS provider mocked: no account, no network.
# Run: terraform -chdir=terraform/aws init -backend=false && terraform -chdir=terraform/aws test

mock_provider "aws" {
  mock_resource "aws_instance" {
    defaults = {
      private_ip = "10.0.1.10"
      public_ip  = "203.0.113.10"
    }
  }
  mock_resource "aws_launch_template" {
    defaults = {
      id = "lt-0123456789abcdef0"
    }
  }
  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/agentload-worker"
    }
  }
  mock_resource "aws_security_group" {
    defaults = {
      id = "sg-0123456789abcdef0"
    }
  }
}

variables {
  vpc_id                = "vpc-0123456789abcdef0"
  subnet_ids            = ["subnet-aaaa", "subnet-bbbb"]
  ami_id                = "ami-0123456789abcdef0"
  allowed_cidr          = "198.51.100.7/32"
  repo_url              = "https://example.com/agentload.git"
  repo_ref              = "v1.2.3"
  api_key_ssm_parameter = "/agentload/openai-api-key"
  worker_count          = 3
}

run "fleet" {
  command = apply

  assert {
    condition     = aws_vpc_security_group_ingress_rule.master_from_workers.from_port == 5557 && aws_vpc_security_group_ingress_rule.master_from_workers.to_port == 5557
    error_message = "the master's ingress from the workers must be port 5557 only"
  }
  assert {
    condition     = aws_vpc_security_group_ingress_rule.master_from_workers.referenced_security_group_id == aws_security_group.worker.id && aws_vpc_security_group_ingress_rule.master_from_workers.cidr_ipv4 == null
    error_message = "5557 must be open to the workers' security group only, never to an address range"
  }
  assert {
    condition     = aws_vpc_security_group_ingress_rule.web_ui.from_port == 8089 && aws_vpc_security_group_ingress_rule.web_ui.cidr_ipv4 == "198.51.100.7/32"
    error_message = "8089 must be open to allowed_cidr only"
  }
  assert {
    condition     = aws_autoscaling_group.workers.desired_capacity == 3 && aws_autoscaling_group.workers.vpc_zone_identifier == toset(["subnet-aaaa", "subnet-bbbb"])
    error_message = "the workers' group must take worker_count and the subnets"
  }
  assert {
    condition     = aws_instance.master.subnet_id == "subnet-aaaa"
    error_message = "the master runs in the first subnet"
  }
  assert {
    condition     = strcontains(base64decode(aws_launch_template.worker.user_data), "--worker --master-host 10.0.1.10")
    error_message = "the workers must join the master at its private address"
  }
  assert {
    condition     = strcontains(base64decode(aws_launch_template.worker.user_data), "--name \"/agentload/openai-api-key\"") && !strcontains(base64decode(aws_launch_template.worker.user_data), "sk-")
    error_message = "the workers read the key from SSM at boot; it is never in user data"
  }
  assert {
    condition     = strcontains(aws_instance.master.user_data, "git checkout \"v1.2.3\"")
    error_message = "the master installs repo_ref"
  }
  assert {
    condition     = length(aws_iam_role_policy.worker_reads_api_key) == 1 && strcontains(aws_iam_role_policy.worker_reads_api_key[0].policy, "parameter/agentload/openai-api-key")
    error_message = "the workers' role may read exactly the key's SSM parameter"
  }
  assert {
    condition     = output.web_ui_url == "http://203.0.113.10:8089"
    error_message = "web_ui_url must be the master's public address on 8089"
  }
}

run "no_key_no_ssm_policy" {
  command = plan
  variables {
    api_key_ssm_parameter = ""
  }
  assert {
    condition     = length(aws_iam_role_policy.worker_reads_api_key) == 0
    error_message = "without a key parameter the workers get no SSM permission"
  }
}

run "web_ui_never_open_to_the_internet" {
  command = plan
  variables {
    allowed_cidr = "0.0.0.0/0"
  }
  expect_failures = [var.allowed_cidr]
}
